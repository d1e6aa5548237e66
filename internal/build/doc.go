// Package build runs one `nixcross build` (or `nixcross shell`) as a
// pipeline of named stages, one file each: resolve the source (source.go),
// prepare the image and store (prepare.go), start the container
// (container.go, which holds the container spec), make the system runnable
// (runnable.go), build (nixbuild.go, failures classified in classify.go),
// query the closure (closure.go), export it (export.go) and check it
// (check.go). runner.go is the sequence and the job loop over systems.
// Every container it makes is removed at the end, on success, failure or
// interruption (unless --keep-failed says otherwise).
package build
