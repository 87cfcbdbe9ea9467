package webclient

import "errors"

// ErrNotDirectory is returned by Files when the directory to serve from is
// not a directory.
var ErrNotDirectory = errors.New("not a directory")
