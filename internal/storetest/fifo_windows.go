package storetest

import "errors"

// Mkfifo fails on Windows, which has no named pipes in the file system;
// tests that need one skip.
func Mkfifo(string) error { return errors.New("no FIFOs on Windows") }
