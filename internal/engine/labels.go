package engine

import "github.com/moby/moby/client"

// Labels on everything nixcross creates, so users, tests and `nixcross
// clean` can find it.
const (
	LabelManaged = "nixcross.managed"
	LabelRole    = "nixcross.role"
	// LabelRun identifies the invocation (client PID and host) that made a
	// container, so a later run can tell its own leftovers from live ones.
	LabelRun = "nixcross.run"
	// LabelImage records which builder image a cache volume belongs to.
	LabelImage   = "nixcross.image"
	LabelImageID = "nixcross.image-id"
	LabelSystem  = "nixcross.system"
	// LabelHash is the content hash of the embedded Dockerfile.nix.
	LabelHash = "nixcross.dockerfile-hash"
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

// Labels returns the labels for a resource of the given role plus extra
// key/value pairs.
func Labels(role string, extra ...string) map[string]string {
	l := map[string]string{LabelManaged: "true", LabelRole: role}
	for i := 0; i+1 < len(extra); i += 2 {
		l[extra[i]] = extra[i+1]
	}
	return l
}

// ManagedFilter selects resources nixcross made, optionally of one role.
func ManagedFilter(role string) client.Filters {
	f := client.Filters{}.Add("label", LabelManaged+"=true")
	if role != "" {
		f = f.Add("label", LabelRole+"="+role)
	}
	return f
}
