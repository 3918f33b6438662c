package raproto

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Frame layout: Magic (4 bytes), FrameVersion (1 byte), payload length
// (uint32, big-endian, 1..MaxPayloadSize), then the payload: one JSON object,
// a Request from the client or a Response from the agent.
const (
	// Magic opens every frame. Its first byte has the high bit set and is not
	// printable, so text that a login shell prints never starts a frame.
	Magic = "\x89RAS"
	// FrameVersion is the only frame version this package reads and writes.
	FrameVersion = 1
	// HeaderSize is the length of the magic, version and length fields.
	HeaderSize = len(Magic) + 1 + 4
	// MaxPayloadSize bounds the JSON payload of one frame.
	MaxPayloadSize = 64 << 10
)

// Sentinel errors of ReadFrame, for errors.Is.
var (
	// ErrForeignBytes means the stream did not start with Magic. Over the
	// subsystem this is usually output from the login shell's rc files.
	ErrForeignBytes = errors.New("foreign bytes before the ra-ssh frame")
	// ErrFrameVersion means the frame has a version other than FrameVersion.
	ErrFrameVersion = errors.New("unsupported ra-ssh frame version")
	// ErrFrameSize means the length field is zero or above MaxPayloadSize.
	ErrFrameSize = errors.New("invalid ra-ssh frame length")
)

// ForeignBytesError reports the bytes found where a frame should start.
type ForeignBytesError struct {
	Prefix []byte // the bytes read before the mismatch was found, at most HeaderSize
}

func (e *ForeignBytesError) Error() string {
	return fmt.Sprintf("raproto: %v: read %s (does a login shell rc file print output for non-interactive sessions?)",
		ErrForeignBytes, strconv.QuoteToASCII(string(e.Prefix)))
}

// Is makes errors.Is(err, ErrForeignBytes) true.
func (e *ForeignBytesError) Is(target error) bool { return target == ErrForeignBytes }

// WriteFrame encodes v as JSON and writes it as one frame with a single Write.
func WriteFrame(w io.Writer, v any) error {
	payload, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("raproto: encode frame: %w", err)
	}
	buf, err := AppendFrame(make([]byte, 0, HeaderSize+len(payload)), payload)
	if err != nil {
		return err
	}
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("raproto: write frame: %w", err)
	}
	return nil
}

// ReadFrame reads one frame from r and decodes its JSON payload into v.
// Unknown JSON fields and bytes after the JSON object are rejected. It reads
// exactly one frame and never past its end.
func ReadFrame(r io.Reader, v any) error {
	payload, err := ReadRawFrame(r)
	if err != nil {
		return err
	}
	return decodePayload(payload, v)
}

// ReadRawFrame reads one frame from r and returns its payload unparsed. It
// checks the magic, the version and the length bound before it reads the
// payload.
func ReadRawFrame(r io.Reader) ([]byte, error) {
	var header [HeaderSize]byte
	n, err := io.ReadFull(r, header[:])
	if !bytes.HasPrefix([]byte(Magic), header[:min(n, len(Magic))]) {
		return nil, &ForeignBytesError{Prefix: append([]byte(nil), header[:n]...)}
	}
	if err == io.EOF {
		return nil, fmt.Errorf("raproto: read frame: %w", io.EOF)
	}
	if err != nil {
		return nil, fmt.Errorf("raproto: read frame header (%d of %d bytes): %w", n, HeaderSize, err)
	}

	if header[len(Magic)] != FrameVersion {
		return nil, fmt.Errorf("raproto: %w %d, expected %d", ErrFrameVersion, header[len(Magic)], FrameVersion)
	}
	size := binary.BigEndian.Uint32(header[len(Magic)+1:])
	if size == 0 || size > MaxPayloadSize {
		return nil, fmt.Errorf("raproto: %w %d, expected 1 to %d bytes", ErrFrameSize, size, MaxPayloadSize)
	}

	payload := make([]byte, size)
	if n, err := io.ReadFull(r, payload); err != nil {
		return nil, fmt.Errorf("raproto: read frame payload (%d of %d bytes): %w", n, size, err)
	}
	return payload, nil
}

// AppendFrame returns buf with a frame around payload appended, for relays
// that forward a payload from ReadRawFrame unchanged.
func AppendFrame(buf, payload []byte) ([]byte, error) {
	if len(payload) == 0 || len(payload) > MaxPayloadSize {
		return nil, fmt.Errorf("raproto: %w %d, expected 1 to %d bytes", ErrFrameSize, len(payload), MaxPayloadSize)
	}
	buf = append(buf, Magic...)
	buf = append(buf, FrameVersion)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(payload)))
	return append(buf, payload...), nil
}

func decodePayload(payload []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("raproto: decode frame payload: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("raproto: decode frame payload: data after the JSON object")
	}
	return nil
}
