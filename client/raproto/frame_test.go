package raproto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func sampleRequest() *Request {
	return &Request{
		Version:   ProtocolVersion,
		Mode:      ModeEpoch,
		Nonce:     bytes.Repeat([]byte{0x11}, NonceSize),
		SessionID: bytes.Repeat([]byte{0x22}, 32),
		HostKey:   append([]byte{0, 0, 0, 11}, "ssh-ed25519"...),
	}
}

func TestFrameRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteFrame(&buf, sampleRequest()); err != nil {
		t.Fatal(err)
	}
	raw := buf.Bytes()
	if !bytes.HasPrefix(raw, []byte("\x89RAS\x01")) {
		t.Fatalf("frame starts with %q, want magic and version 1", raw[:5])
	}
	if got := binary.BigEndian.Uint32(raw[5:9]); int(got) != len(raw)-HeaderSize {
		t.Fatalf("length field %d, payload is %d bytes", got, len(raw)-HeaderSize)
	}

	var got Request
	if err := ReadFrame(&buf, &got); err != nil {
		t.Fatal(err)
	}
	if err := got.Check(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.SessionID, sampleRequest().SessionID) || got.Mode != ModeEpoch {
		t.Fatalf("decoded %+v", got)
	}
}

func TestFrameResponseRoundTrip(t *testing.T) {
	want := &Response{Version: 1, Status: StatusOK, Mode: ModeEpoch, SessionBound: true, Token: "a.b.c",
		Epoch: &Epoch{KAtt: []byte{1}, HostKeys: [][]byte{{2}}, NotAfter: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Signature: []byte{3}}}
	var buf bytes.Buffer
	if err := WriteFrame(&buf, want); err != nil {
		t.Fatal(err)
	}
	var got Response
	if err := ReadFrame(&buf, &got); err != nil {
		t.Fatal(err)
	}
	if got.Token != want.Token || !got.SessionBound || !got.Epoch.NotAfter.Equal(want.Epoch.NotAfter) {
		t.Fatalf("decoded %+v", got)
	}
}

func TestReadFrameForeignBytes(t *testing.T) {
	var frame bytes.Buffer
	if err := WriteFrame(&frame, sampleRequest()); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, input, prefix string
	}{
		{"motd line", "Welcome to Debian GNU/Linux\n" + frame.String(), "Welcome t"},
		{"short output then frame", "hi\n" + frame.String(), "hi\n\x89RAS\x01\x00"},
		{"short output then EOF", "ok", "ok"},
		{"single byte", "\n", "\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got Request
			err := ReadFrame(strings.NewReader(tc.input), &got)
			if !errors.Is(err, ErrForeignBytes) {
				t.Fatalf("err = %v, want ErrForeignBytes", err)
			}
			var fb *ForeignBytesError
			if !errors.As(err, &fb) || string(fb.Prefix) != tc.prefix {
				t.Fatalf("prefix = %q, want %q", fb.Prefix, tc.prefix)
			}
		})
	}
}

func TestReadFrameForeignBytesMessage(t *testing.T) {
	err := ReadFrame(strings.NewReader("Welcome to Debian\n"), &Request{})
	want := `raproto: foreign bytes before the ra-ssh frame: read "Welcome t" (does a login shell rc file print output for non-interactive sessions?)`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
}

func header(version byte, size uint32) []byte {
	b := append([]byte(Magic), version)
	return binary.BigEndian.AppendUint32(b, size)
}

func TestReadFrameRejects(t *testing.T) {
	cases := []struct {
		name  string
		input []byte
		want  string
	}{
		{"version 2", append(header(2, 2), "{}"...), "raproto: unsupported ra-ssh frame version 2, expected 1"},
		{"zero length", header(1, 0), "raproto: invalid ra-ssh frame length 0, expected 1 to 65536 bytes"},
		{"too large", header(1, MaxPayloadSize+1), "raproto: invalid ra-ssh frame length 65537, expected 1 to 65536 bytes"},
		{"short payload", append(header(1, 10), "{}"...), "raproto: read frame payload (2 of 10 bytes): unexpected EOF"},
		{"short header", []byte(Magic + "\x01"), "raproto: read frame header (5 of 9 bytes): unexpected EOF"},
		{"empty stream", nil, "raproto: read frame: EOF"},
		{"unknown field", append(header(1, 9), `{"x":1}  `...), `raproto: decode frame payload: json: unknown field "x"`},
		{"trailing data", append(header(1, 5), `{} {}`...), "raproto: decode frame payload: data after the JSON object"},
		{"not json", append(header(1, 3), `abc`...), "raproto: decode frame payload: invalid character 'a' looking for beginning of value"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := ReadFrame(bytes.NewReader(tc.input), &Request{})
			if err == nil || err.Error() != tc.want {
				t.Fatalf("err = %v, want %s", err, tc.want)
			}
		})
	}
}

func TestReadFrameStopsAtFrameEnd(t *testing.T) {
	var buf bytes.Buffer
	WriteFrame(&buf, sampleRequest())
	buf.WriteString("next")
	if err := ReadFrame(&buf, &Request{}); err != nil {
		t.Fatal(err)
	}
	if rest, _ := io.ReadAll(&buf); string(rest) != "next" {
		t.Fatalf("left %q after the frame, want %q", rest, "next")
	}
}

func TestWriteFrameTooLarge(t *testing.T) {
	r := &Response{Version: 1, Status: StatusOK, Token: strings.Repeat("a", MaxPayloadSize)}
	err := WriteFrame(io.Discard, r)
	if !errors.Is(err, ErrFrameSize) {
		t.Fatalf("err = %v, want ErrFrameSize", err)
	}
}

func TestRequestCheck(t *testing.T) {
	cases := []struct {
		name   string
		modify func(*Request)
		want   string
	}{
		{"version", func(r *Request) { r.Version = 2 }, "raproto: unsupported request version 2, expected 1"},
		{"mode", func(r *Request) { r.Mode = "lazy" }, `raproto: invalid mode "lazy", expected "epoch" or "fresh"`},
		{"nonce", func(r *Request) { r.Nonce = r.Nonce[:31] }, "raproto: invalid nonce length 31, expected 32 bytes"},
		{"short session ID", func(r *Request) { r.SessionID = r.SessionID[:19] }, "raproto: invalid session ID length 19, expected 20 to 64 bytes"},
		{"long session ID", func(r *Request) { r.SessionID = make([]byte, 65) }, "raproto: invalid session ID length 65, expected 20 to 64 bytes"},
		{"no host key", func(r *Request) { r.HostKey = nil }, "raproto: missing host key"},
		{"huge host key", func(r *Request) { r.HostKey = make([]byte, MaxHostKeySize+1) }, "raproto: host key of 8193 bytes exceeds 8192"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := sampleRequest()
			tc.modify(r)
			if err := r.Check(); err == nil || err.Error() != tc.want {
				t.Fatalf("err = %v, want %s", err, tc.want)
			}
		})
	}
}
