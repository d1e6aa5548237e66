package hoststore

import (
	"reflect"
	"testing"
)

func TestSudoOwner(t *testing.T) {
	sudo := map[string]string{"SUDO_UID": "1000", "SUDO_GID": "100"}
	tests := []struct {
		name string
		euid int
		env  map[string]string
		want *Owner
	}{
		{"root through sudo", 0, sudo, &Owner{UID: 1000, GID: 100}},
		{"a user, whatever the environment says", 1000, sudo, nil},
		{"root logged in as root", 0, nil, nil},
		{"root through sudo from root", 0, map[string]string{"SUDO_UID": "0", "SUDO_GID": "0"}, nil},
		{"garbled", 0, map[string]string{"SUDO_UID": "alice", "SUDO_GID": "100"}, nil},
		{"no group", 0, map[string]string{"SUDO_UID": "1000"}, nil},
		{"windows", -1, sudo, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SudoOwner(tt.euid, func(k string) string { return tt.env[k] })
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("SudoOwner = %+v, want %+v", got, tt.want)
			}
		})
	}
}
