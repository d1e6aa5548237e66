package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/match"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/nixcross/nixcross/internal/system"
)

// Platformed is one system's image and the platform the index says it runs on.
type Platformed struct {
	Image    v1.Image
	Platform system.Platform
}

// ParseTag reads --tag: a repository and a tag (":latest" when none), as
// Docker reads it ("x" is docker.io/library/x). A digest is refused: the
// digest is what nixcross computes.
func ParseTag(ref string) (name.Tag, error) {
	return name.NewTag(ref)
}

// SystemRef is the name a system's image is loaded under when a run loads
// several: ref (as typed) with the system appended to its tag, since the
// classic image store holds one platform per name.
func SystemRef(ref string, t name.Tag, system string) string {
	repo := strings.TrimSuffix(ref, ":"+t.TagStr())
	return repo + ":" + t.TagStr() + "-" + system
}

// Index is the multi-arch image index of a run's images, in the order given.
func Index(images []Platformed) v1.ImageIndex {
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	adds := make([]mutate.IndexAddendum, 0, len(images))
	for _, im := range images {
		adds = append(adds, mutate.IndexAddendum{Add: notArtifact{im.Image}, Descriptor: v1.Descriptor{
			Platform: &v1.Platform{OS: im.Platform.OS, Architecture: im.Platform.Architecture, Variant: im.Platform.Variant},
		}})
	}
	return mutate.AppendManifests(idx, adds...)
}

// notArtifact is an image whose index entry has no artifactType: the
// library fills it with the config's media type, which the image spec
// reserves for artifacts, not runnable images.
type notArtifact struct{ v1.Image }

func (notArtifact) ArtifactType() (string, error) { return "", nil }

// refName is the annotation an OCI layout names an index by: what
// `skopeo … oci:DIR:NAME` selects.
const refName = "org.opencontainers.image.ref.name"

// WriteLayout adds idx to the OCI image layout in dir (created when
// missing) under the tag's name, replacing what had that name before;
// blobs already there are kept and not written again.
func WriteLayout(dir string, t name.Tag, idx v1.ImageIndex) error {
	p, err := layout.FromPath(dir)
	if err != nil {
		if _, serr := os.Stat(filepath.Join(dir, "index.json")); serr == nil {
			return fmt.Errorf("oci layout %s: %w", dir, err)
		}
		if p, err = layout.Write(dir, empty.Index); err != nil {
			return fmt.Errorf("oci layout %s: %w", dir, err)
		}
	}
	if err := p.ReplaceIndex(idx, match.Annotation(refName, t.TagStr()), layout.WithAnnotations(map[string]string{refName: t.TagStr()})); err != nil {
		return fmt.Errorf("oci layout %s: %w", dir, err)
	}
	return nil
}

// Push writes idx, its images and their layers to the tag's registry, with
// the credentials Docker would use (~/.docker/config.json and its
// credential helpers). Layers the registry has are not sent again.
func Push(ctx context.Context, t name.Tag, idx v1.ImageIndex) error {
	err := remote.WriteIndex(t, idx,
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(authn.DefaultKeychain),
		remote.WithTransport(loopbackHTTPOnly{remote.DefaultTransport}))
	if err != nil {
		return fmt.Errorf("push %s: %w", t, err)
	}
	return nil
}

// ErrPlainHTTP is a registry that answers only over plain HTTP and is not
// on this machine.
var ErrPlainHTTP = errors.New("plain HTTP is used only for a registry on localhost, as Docker does")

// loopbackHTTPOnly refuses plain HTTP except to this machine, as Docker
// treats only 127.0.0.0/8 as an insecure registry by default. The library
// also falls back to HTTP for private (RFC 1918) addresses, which would
// send credentials and images in the clear across a network.
type loopbackHTTPOnly struct{ next http.RoundTripper }

func (l loopbackHTTPOnly) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Scheme == "http" && !loopback(r.URL.Hostname()) {
		return nil, fmt.Errorf("%s: %w", r.URL.Host, ErrPlainHTTP)
	}
	return l.next.RoundTrip(r)
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// WriteArchive writes img as a `docker save` archive tagged t, what the
// daemon's image load API reads (from a remote daemon too). gzip is worth
// its time only on a network: local says the daemon is on this machine,
// which then gets the layers' tars as they are.
func WriteArchive(w io.Writer, t name.Tag, img v1.Image, local bool) error {
	if local {
		img = uncompressedImage{img}
	}
	return tarball.Write(t, img, w)
}
