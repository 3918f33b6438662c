package ca

import (
	"bytes"
	"encoding/binary"
	"slices"
	"time"

	"golang.org/x/crypto/ssh"
)

// KRL section types of the OpenSSH key revocation list format
// (PROTOCOL.krl in the OpenSSH sources).
const (
	krlMagic              = "SSHKRL\n\x00"
	krlFormatVersion      = 1
	krlSectionCerts       = 1
	krlSectionExplicitKey = 2
	krlCertSerialList     = 0x20
)

// KRL is an OpenSSH key revocation list of host certificates, by serial, and
// of plain host keys. sshd and ssh read it through RevokedKeys and
// RevokedHostKeys, and "ssh-keygen -Q -f FILE KEY" tests a key against it.
type KRL struct {
	CAKey   ssh.PublicKey // the CA whose certificate serials are revoked
	Serials []uint64
	Keys    []ssh.PublicKey
	// Version must grow with each new list; clients keep the newest.
	Version     uint64
	GeneratedAt time.Time
	Comment     string
}

// Marshal encodes the list. Serials and keys are written sorted and without
// duplicates, as OpenSSH writes them.
func (k *KRL) Marshal() []byte {
	var out bytes.Buffer
	out.WriteString(krlMagic)
	out.Write(binary.BigEndian.AppendUint32(nil, krlFormatVersion))
	out.Write(binary.BigEndian.AppendUint64(nil, k.Version))
	out.Write(binary.BigEndian.AppendUint64(nil, uint64(k.GeneratedAt.Unix())))
	out.Write(binary.BigEndian.AppendUint64(nil, 0)) // flags
	writeString(&out, nil)                           // reserved
	writeString(&out, []byte(k.Comment))

	if serials := sortedSerials(k.Serials); len(serials) > 0 && k.CAKey != nil {
		var list bytes.Buffer
		for _, s := range serials {
			list.Write(binary.BigEndian.AppendUint64(nil, s))
		}
		var section bytes.Buffer
		writeString(&section, k.CAKey.Marshal())
		writeString(&section, nil) // reserved
		section.WriteByte(krlCertSerialList)
		writeString(&section, list.Bytes())
		out.WriteByte(krlSectionCerts)
		writeString(&out, section.Bytes())
	}

	if keys := sortedBlobs(k.Keys); len(keys) > 0 {
		var section bytes.Buffer
		for _, b := range keys {
			writeString(&section, b)
		}
		out.WriteByte(krlSectionExplicitKey)
		writeString(&out, section.Bytes())
	}
	return out.Bytes()
}

func writeString(w *bytes.Buffer, b []byte) {
	w.Write(binary.BigEndian.AppendUint32(nil, uint32(len(b))))
	w.Write(b)
}

func sortedSerials(in []uint64) []uint64 {
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}

func sortedBlobs(keys []ssh.PublicKey) [][]byte {
	var out [][]byte
	for _, k := range keys {
		out = append(out, k.Marshal())
	}
	slices.SortFunc(out, bytes.Compare)
	return slices.CompactFunc(out, bytes.Equal)
}
