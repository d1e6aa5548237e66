package binfmt

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/mount"

	"github.com/nixcross/nixcross/internal/engine"
	"github.com/nixcross/nixcross/internal/status"
	"github.com/nixcross/nixcross/internal/system"
)

// HandlerNative is Status.Handler for a system the CPU runs by itself.
const HandlerNative = "native"

// detectTimeout bounds a probe run; a probe takes milliseconds, so only a
// hung emulator or daemon reaches it.
const detectTimeout = 2 * time.Minute

// Status says whether a system's binaries run on the daemon's kernel now.
type Status struct {
	System   system.System
	Runnable bool
	// Handler is what runs the system's binaries: HandlerNative, or the
	// name of the binfmt_misc entry ("nixcross-aarch64", a host's
	// "qemu-aarch64"). Detect cannot see entries from its unprivileged
	// container, so it only fills in HandlerNative for the daemon's own
	// system; Attribute fills in the rest from Entries.
	Handler   string
	Diagnosis Diagnosis // Kind OK when Runnable
}

// MarshalJSON writes the system by its Nix name.
func (s Status) MarshalJSON() ([]byte, error) {
	v := struct {
		System    string     `json:"system"`
		Runnable  bool       `json:"runnable"`
		Handler   string     `json:"handler,omitempty"`
		Diagnosis *Diagnosis `json:"diagnosis,omitempty"`
	}{System: s.System.String(), Runnable: s.Runnable, Handler: s.Handler}
	if !s.Runnable {
		v.Diagnosis = &s.Diagnosis
	}
	return json.Marshal(v)
}

// Detect runs each system's probe in one throwaway container of image,
// with no privilege, no network and a read-only root, exactly as a build
// container would run the system's binaries, and reports which ran. No
// systems means every supported Linux system. The container is removed
// even when ctx is cancelled.
func Detect(ctx context.Context, eng *engine.Engine, image string, systems []system.System) ([]Status, error) {
	if len(systems) == 0 {
		systems = system.LinuxSystems()
	}
	archive, err := probeArchive(systems)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, detectTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code, err := eng.RunOnce(ctx, engine.OneShot{
		Spec: engine.ContainerSpec{
			Image:      image,
			Entrypoint: []string{"sh", "-c", probeScript(systems)},
			Labels:     engine.Labels(engine.RoleProbe),
			ReadOnly:   true,
			NoNetwork:  true,
			// An anonymous volume, removed with the container: the probes
			// need a place that is writable for the copy and executable.
			Mounts: []mount.Mount{{
				Type:          mount.TypeVolume,
				Target:        probeDir,
				VolumeOptions: &mount.VolumeOptions{NoCopy: true, Labels: engine.Labels(engine.RoleProbe)},
			}},
		},
		Upload: archive, UploadDir: probeDir,
		Stdout: &stdout, Stderr: &stderr,
	})
	switch engine.FailedStep(err) {
	case "":
	case engine.StepCreate:
		return nil, status.Environment(fmt.Errorf("probe container from %s: %w", image, err), "")
	case engine.StepUpload:
		return nil, status.Environment(fmt.Errorf("copy probes: %w", err), "")
	default:
		return nil, status.Environment(fmt.Errorf("probe container: %w", err), "")
	}
	if code != 0 {
		return nil, status.Environment(fmt.Errorf("probe script exited with status %d: %s", code, strings.TrimSpace(stderr.String())),
			"the image "+image+" must have a POSIX sh")
	}
	return parseProbes(stdout.String(), systems, eng.System), nil
}

// parseProbes reads probeScript's lines into statuses, in systems' order.
func parseProbes(out string, systems []system.System, native system.System) []Status {
	type result struct {
		code   int
		output string
	}
	results := map[string]result{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "nixcross-probe ")
		if !ok {
			continue
		}
		fields := strings.SplitN(rest, " ", 3)
		if len(fields) < 2 {
			continue
		}
		code, err := strconv.Atoi(fields[1])
		if err != nil {
			continue
		}
		r := result{code: code}
		if len(fields) == 3 {
			r.output = strings.TrimSpace(fields[2])
		}
		results[fields[0]] = r
	}
	statuses := make([]Status, 0, len(systems))
	for _, s := range systems {
		st := Status{System: s}
		r, ok := results[s.Arch]
		switch {
		case !ok:
			st.Diagnosis = DiagnoseSystem(s, "probe did not report", errors.New("no result"))
		case r.code == 0:
			st.Diagnosis = DiagnoseSystem(s, r.output, nil)
		default:
			st.Diagnosis = DiagnoseSystem(s, r.output, &engine.ExitError{Cmd: probeDir + "/" + s.Arch, Code: r.code})
		}
		st.Runnable = st.Diagnosis.Kind == OK
		if st.Runnable && s == native {
			st.Handler = HandlerNative
		}
		statuses = append(statuses, st)
	}
	return statuses
}

// Attribute names the handler behind each status from the kernel's
// entries (see Entries): the enabled entry whose magic matches the
// system's probe, else HandlerNative for a system that ran. A system that
// did not run keeps the entry that failed to run it, if any.
func Attribute(statuses []Status, entries []Entry) []Status {
	out := make([]Status, len(statuses))
	for i, st := range statuses {
		if e, ok := Handling(entries, st.System); ok {
			st.Handler = e.Name
		} else if st.Runnable {
			st.Handler = HandlerNative
		}
		out[i] = st
	}
	return out
}

// probeArchive is a tar of the probes, one executable per system named
// by its architecture.
func probeArchive(systems []system.System) (*bytes.Buffer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, s := range systems {
		p, err := Probe(s)
		if err != nil {
			return nil, err
		}
		if err := tw.WriteHeader(&tar.Header{Name: s.Arch, Mode: 0o755, Size: int64(len(p)), Typeflag: tar.TypeReg}); err != nil {
			return nil, fmt.Errorf("probe archive: %w", err)
		}
		if _, err := tw.Write(p); err != nil {
			return nil, fmt.Errorf("probe archive: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("probe archive: %w", err)
	}
	return &buf, nil
}
