// Package boundedfile reads files that must stay below a size limit, such as
// configuration, key and collateral files, without reading past the limit.
package boundedfile

import (
	"fmt"
	"io"
	"os"
)

// Read returns the contents of the file at path, or an error if the file is
// larger than maxSize bytes. It reads at most maxSize+1 bytes. Errors from
// opening or reading the file are the *fs.PathError values of package os,
// which name the path, so errors.Is(err, fs.ErrNotExist) reports a missing
// file.
func Read(path string, maxSize int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()

	data, err := io.ReadAll(io.LimitReader(f, maxSize+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > maxSize {
		return nil, fmt.Errorf("read %s: larger than the maximum of %d bytes", path, maxSize)
	}
	return data, nil
}
