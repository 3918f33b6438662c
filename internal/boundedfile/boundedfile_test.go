package boundedfile

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestReadAtLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	want := bytes.Repeat([]byte{'a'}, 16)
	if err := os.WriteFile(path, want, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := Read(path, 16)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Read = %q, want %q", got, want)
	}
}

func TestReadOverLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, bytes.Repeat([]byte{'a'}, 17), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Read(path, 16)
	want := "read " + path + ": larger than the maximum of 16 bytes"
	if err == nil || err.Error() != want {
		t.Errorf("Read error = %v, want %q", err, want)
	}
}

func TestReadMissingFile(t *testing.T) {
	_, err := Read(filepath.Join(t.TempDir(), "missing"), 16)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Read error = %v, want fs.ErrNotExist", err)
	}
}

func TestReadDirectory(t *testing.T) {
	dir := t.TempDir()
	_, err := Read(dir, 16)
	want := "read " + dir + ": is a directory"
	if err == nil || err.Error() != want {
		t.Errorf("Read error = %v, want %q", err, want)
	}
}
