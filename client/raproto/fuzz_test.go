package raproto

import (
	"bytes"
	"testing"
)

func FuzzReadFrame(f *testing.F) {
	var req, resp bytes.Buffer
	WriteFrame(&req, sampleRequest())
	WriteFrame(&resp, Busy(250))
	f.Add(req.Bytes())
	f.Add(resp.Bytes())
	f.Add([]byte("Welcome to Debian GNU/Linux 12\n"))
	f.Add(header(1, MaxPayloadSize+1))

	f.Fuzz(func(t *testing.T, data []byte) {
		var got Request
		if err := ReadFrame(bytes.NewReader(data), &got); err != nil {
			return
		}
		// A frame that decodes must re-encode into a frame that decodes to
		// the same request.
		var again bytes.Buffer
		if err := WriteFrame(&again, &got); err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		var back Request
		if err := ReadFrame(&again, &back); err != nil {
			t.Fatalf("decode re-encoded frame: %v", err)
		}
		if !bytes.Equal(back.Nonce, got.Nonce) || !bytes.Equal(back.SessionID, got.SessionID) ||
			!bytes.Equal(back.HostKey, got.HostKey) || back.Mode != got.Mode || back.Version != got.Version {
			t.Fatalf("round trip changed %+v into %+v", got, back)
		}
	})
}
