package binfmt

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/nixcross/nixcross/internal/system"
)

// entriesOutput is what entriesScript prints on a host with Debian's
// qemu-aarch64 (no F flag), nixcross's riscv64, a disabled arm entry and
// an extension-matched entry, in the kernel's own format.
const entriesOutput = `nixcross entry qemu-aarch64
enabled
interpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P
flags: POC
offset 0
magic 7f454c460201010000000000000000000200b700
mask ffffffffffffff00fffffffffffffffffeffffff
nixcross entry nixcross-riscv64
enabled
interpreter /usr/bin/qemu-riscv64-static
flags: F
offset 0
magic 7f454c460201010000000000000000000200f300
mask ffffffffffffff00fffffffffffffffffeffffff
nixcross entry qemu-arm
disabled
interpreter /usr/bin/qemu-arm-static
flags: F
offset 0
magic 7f454c4601010100000000000000000002002800
mask ffffffffffffff00fffffffffffffffffeffffff
nixcross entry DOSWin
enabled
interpreter /usr/bin/wine
flags: 
extension .exe
`

func TestParseEntries(t *testing.T) {
	if _, err := parseEntries("nixcross entry broken\nenabled\nmagic 7f454c4\n"); err == nil || !strings.Contains(err.Error(), "broken") {
		t.Errorf("odd-length magic: err %v, want one naming the entry", err)
	}
	entries, err := parseEntries(entriesOutput)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 4 {
		t.Fatalf("%d entries, want 4: %+v", len(entries), entries)
	}
	q := entries[0]
	if q.Name != "qemu-aarch64" || !q.Enabled || q.Interpreter != "/usr/libexec/qemu-binfmt/aarch64-binfmt-P" || q.Flags != "POC" || q.Ours() {
		t.Errorf("qemu-aarch64: %+v", q)
	}
	if len(q.Magic) != 20 || q.Magic[18] != 0xb7 || len(q.Mask) != 20 || q.Mask[16] != 0xfe {
		t.Errorf("qemu-aarch64 magic %x mask %x", q.Magic, q.Mask)
	}
	if !entries[1].Ours() || entries[1].Flags != "F" {
		t.Errorf("nixcross-riscv64: %+v", entries[1])
	}
	if entries[2].Enabled {
		t.Errorf("qemu-arm is disabled: %+v", entries[2])
	}
	if w := entries[3]; w.Extension != ".exe" || w.Magic != nil || w.Flags != "" {
		t.Errorf("DOSWin: %+v", w)
	}
}

func TestHandlingAndAttribute(t *testing.T) {
	entries, err := parseEntries(entriesOutput)
	if err != nil {
		t.Fatal(err)
	}
	sys := func(a string) system.System { return system.System{Arch: a, OS: "linux"} }
	for arch, want := range map[string]string{
		"aarch64": "qemu-aarch64",     // the host's, whatever its name
		"riscv64": "nixcross-riscv64", // ours
		"armv7l":  "",                 // disabled entries run nothing
		"s390x":   "",
	} {
		e, ok := Handling(entries, sys(arch))
		if ok != (want != "") || e.Name != want {
			t.Errorf("Handling(%s) = %q, %v; want %q", arch, e.Name, ok, want)
		}
	}

	// With the host's and ours both matching: a host entry with the F flag
	// is what nixcross would have used (ours is a leftover); one without
	// it is what nixcross shadowed.
	ours := Entry{Name: "nixcross-aarch64", Enabled: true, Flags: "F", Magic: entries[0].Magic, Mask: entries[0].Mask}
	if e, _ := Handling(append([]Entry{ours}, entries...), sys("aarch64")); e.Name != "nixcross-aarch64" {
		t.Errorf("Handling with the host's entry lacking F = %q, want ours", e.Name)
	}
	fixed := entries[0]
	fixed.Flags = "POCF"
	if e, _ := Handling([]Entry{ours, fixed}, sys("aarch64")); e.Name != "qemu-aarch64" {
		t.Errorf("Handling with the host's F-flag entry = %q, want the host's", e.Name)
	}

	statuses := []Status{
		{System: sys("x86_64"), Runnable: true, Handler: HandlerNative},
		{System: sys("aarch64"), Runnable: true},
		{System: sys("riscv64"), Runnable: false, Diagnosis: Diagnosis{Kind: NoInterpreter}},
		{System: sys("i686"), Runnable: true},
		{System: sys("s390x"), Runnable: false, Diagnosis: Diagnosis{Kind: NoHandler}},
	}
	got := Attribute(statuses, entries)
	want := []string{HandlerNative, "qemu-aarch64", "nixcross-riscv64", HandlerNative, ""}
	for i := range got {
		if got[i].Handler != want[i] {
			t.Errorf("%s: handler %q, want %q", got[i].System, got[i].Handler, want[i])
		}
	}
	if statuses[1].Handler != "" {
		t.Error("Attribute modified its input")
	}
}

func TestStatusJSON(t *testing.T) {
	sts := []Status{
		{System: system.System{Arch: "aarch64", OS: "linux"}, Runnable: true, Handler: "nixcross-aarch64"},
		{System: system.System{Arch: "s390x", OS: "linux"}, Diagnosis: DiagnoseSystem(system.System{Arch: "s390x", OS: "linux"}, "Exec format error", nil)},
	}
	b, err := json.Marshal(sts)
	if err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got[0]["system"] != "aarch64-linux" || got[0]["runnable"] != true || got[0]["handler"] != "nixcross-aarch64" || got[0]["diagnosis"] != nil {
		t.Errorf("runnable status: %s", b)
	}
	d, _ := got[1]["diagnosis"].(map[string]any)
	if got[1]["system"] != "s390x-linux" || got[1]["runnable"] != false || d["kind"] != "no-handler" || d["hint"] == "" {
		t.Errorf("failed status: %s", b)
	}
}
