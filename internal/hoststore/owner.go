package hoststore

import (
	"os"
	"strconv"
)

// Owner is who the files an export creates belong to when that is not the
// process's own user. `sudo nixcross build` runs as root, but the result
// lands in the invoking user's directory and has to be theirs to delete
// without sudo; nil (everyone not using sudo) leaves files to the process.
//
// Ownership is set on each entry as it is created, before anything is
// renamed into place, so that even what a killed run leaves behind is
// the user's to remove.
type Owner struct{ UID, GID int }

// SudoOwner is who an export belongs to. Run through sudo (the usual way
// on Linux for a user outside the docker group), nixcross is root, yet the
// result lands in the user's directory: it goes to the user sudo names in
// SUDO_UID and SUDO_GID, so that deleting it needs no sudo. Anyone else
// (not root, root logged in as root, Windows with euid -1) keeps the
// files as the process's own: nil.
func SudoOwner(euid int, getenv func(string) string) *Owner {
	if euid != 0 {
		return nil
	}
	uid, err := strconv.Atoi(getenv("SUDO_UID"))
	if err != nil || uid <= 0 {
		return nil
	}
	gid, err := strconv.Atoi(getenv("SUDO_GID"))
	if err != nil || gid < 0 {
		return nil
	}
	return &Owner{UID: uid, GID: gid}
}

// file gives an open file to the owner.
func (o *Owner) file(f *os.File) error {
	if o == nil {
		return nil
	}
	return f.Chown(o.UID, o.GID)
}

// entry gives name in r, a symlink itself and not its target, to the owner.
func (o *Owner) entry(r *os.Root, name string) error {
	if o == nil {
		return nil
	}
	return r.Lchown(name, o.UID, o.GID)
}

// path is entry for a path of nixcross's own making (the out-link's
// temporary), outside any os.Root.
func (o *Owner) path(p string) error {
	if o == nil {
		return nil
	}
	return os.Lchown(p, o.UID, o.GID)
}
