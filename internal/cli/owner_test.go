package cli

import (
	"reflect"
	"testing"

	"github.com/nixcross/nixcross/internal/hoststore"
)

func TestHostUser(t *testing.T) {
	sudo := map[string]string{"SUDO_UID": "1000", "SUDO_GID": "100"}
	tests := []struct {
		name       string
		euid, egid int
		env        map[string]string
		want       *hoststore.Owner
	}{
		{"root through sudo", 0, 0, sudo, &hoststore.Owner{UID: 1000, GID: 100}},
		{"a user", 1001, 1002, sudo, &hoststore.Owner{UID: 1001, GID: 1002}},
		{"root logged in as root", 0, 0, nil, nil},
		{"windows", -1, -1, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hostUser(tt.euid, tt.egid, func(k string) string { return tt.env[k] }); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("hostUser = %+v, want %+v", got, tt.want)
			}
		})
	}
}
