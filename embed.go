// Package nixcross holds the files the nixcross binary embeds from the
// repository root. The code lives under internal/ and cmd/.
package nixcross

import _ "embed"

// Dockerfile is Dockerfile.nix, the recipe of the default builder image.
//
//go:embed Dockerfile.nix
var Dockerfile []byte
