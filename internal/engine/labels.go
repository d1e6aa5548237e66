package engine

import "github.com/moby/moby/client"

// Labels on everything nixcross creates, so users, tests and `nixcross
// clean` can find it.
const (
	LabelManaged = "nixcross.managed"
	LabelRole    = "nixcross.role"
	// LabelRun identifies the invocation (client PID and host) that made a
	// container, so a later run can tell its own leftovers from live ones;
	// LabelRunScope and LabelRunBoot say where that PID means something
	// (see RunLabels).
	LabelRun      = "nixcross.run"
	LabelRunScope = "nixcross.run-scope"
	LabelRunBoot  = "nixcross.run-boot"
	// LabelImage records which builder image a cache volume belongs to.
	LabelImage   = "nixcross.image"
	LabelImageID = "nixcross.image-id"
	// LabelFlake names the flake a cache volume serves (its directory or
	// reference), LabelFlakeKey the hash of it in the volume's name.
	LabelFlake    = "nixcross.flake"
	LabelFlakeKey = "nixcross.flake-key"
	// LabelFlakeHost names the machine whose directory LabelFlake is, for
	// flakes on the client's disk: only there can `cache prune` tell the
	// directory is gone.
	LabelFlakeHost = "nixcross.flake-host"
	LabelSystem    = "nixcross.system"
	// LabelHash is the content hash of the embedded Dockerfile.nix.
	LabelHash = "nixcross.dockerfile-hash"
	// LabelBinfmt says what a binfmt helper is for (see package binfmt);
	// BinfmtInstalled marks the long-lived one of `nixcross binfmt install`.
	LabelBinfmt     = "nixcross.binfmt"
	BinfmtInstalled = "install"
)

// Roles.
const (
	RoleBuild  = "build"
	RoleBinfmt = "binfmt"
	RoleProbe  = "probe"
	RoleCache  = "cache"
	RoleImage  = "builder-image"
	RoleShell  = "shell"
	RoleGC     = "gc"
)

// KeptPrefix starts the names of containers kept by --keep-failed: the name
// tells later runs' sweep to leave them alone.
const KeptPrefix = "nixcross-kept-"

// Labels returns the labels for a resource of the given role plus extra
// key/value pairs.
func Labels(role string, extra ...string) map[string]string {
	l := map[string]string{LabelManaged: "true", LabelRole: role}
	for i := 0; i+1 < len(extra); i += 2 {
		l[extra[i]] = extra[i+1]
	}
	return l
}

// managedFilter selects resources nixcross made, optionally of one role
// and with more "key=value" labels.
func managedFilter(role string, labels ...string) client.Filters {
	f := client.Filters{}.Add("label", LabelManaged+"=true")
	if role != "" {
		f = f.Add("label", LabelRole+"="+role)
	}
	for _, l := range labels {
		f = f.Add("label", l)
	}
	return f
}
