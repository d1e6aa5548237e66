package image

import (
	"errors"
	"net/http"
	"testing"
)

func TestSystemRef(t *testing.T) {
	for ref, want := range map[string]string{
		"app":                   "app:latest-aarch64-linux",
		"app:1":                 "app:1-aarch64-linux",
		"127.0.0.1:5000/x:1":    "127.0.0.1:5000/x:1-aarch64-linux",
		"localhost:5000/team/x": "localhost:5000/team/x:latest-aarch64-linux",
	} {
		tag, err := ParseTag(ref)
		if err != nil {
			t.Fatal(err)
		}
		if got := SystemRef(ref, tag, "aarch64-linux"); got != want {
			t.Errorf("SystemRef(%s) = %s, want %s", ref, got, want)
		}
	}
}

type answered struct{}

func (answered) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200}, nil
}

// Plain HTTP reaches only this machine, as Docker's default insecure
// registries (127.0.0.0/8); the library alone would also use it for
// private networks.
func TestLoopbackHTTPOnly(t *testing.T) {
	rt := loopbackHTTPOnly{answered{}}
	for url, ok := range map[string]bool{
		"http://127.0.0.1:5000/v2/":   true,
		"http://127.1.2.3:5000/v2/":   true,
		"http://localhost:5000/v2/":   true,
		"http://[::1]:5000/v2/":       true,
		"https://10.0.0.5:5000/v2/":   true,
		"http://10.0.0.5:5000/v2/":    false,
		"http://192.168.1.2:5000/v2/": false,
		"http://registry.local/v2/":   false,
	} {
		req, _ := http.NewRequest("GET", url, nil)
		_, err := rt.RoundTrip(req)
		if ok && err != nil || !ok && !errors.Is(err, ErrPlainHTTP) {
			t.Errorf("%s: %v", url, err)
		}
	}
}
