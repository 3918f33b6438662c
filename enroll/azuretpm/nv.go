package azuretpm

import (
	"errors"
	"fmt"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
)

// NV indices of the Azure paravisor's vTPM.
const (
	// ReportIndex holds the HCL report. The paravisor regenerates it when
	// UserDataIndex is written.
	ReportIndex tpm2.TPMHandle = 0x01400001
	// UserDataIndex takes the 64 bytes that the next HCL report carries as
	// runtime data "user-data".
	UserDataIndex tpm2.TPMHandle = 0x01400002
)

// defaultNVBufferMax is the NV read and write chunk size when the TPM does
// not report TPM_PT_NV_BUFFER_MAX. 1024 is the TCG reference value.
const defaultNVBufferMax = 1024

// maxNVSize bounds how much of an NV index is read.
const maxNVSize = 64 << 10

func ownerAuth() tpm2.AuthHandle {
	return tpm2.AuthHandle{Handle: tpm2.TPMRHOwner, Auth: tpm2.PasswordAuth(nil)}
}

// NVPublic returns the public area and name of an NV index, or an error
// wrapping tpm2.TPMRCHandle when the index is not defined.
func NVPublic(tpm transport.TPM, index tpm2.TPMHandle) (*tpm2.TPMSNVPublic, tpm2.TPM2BName, error) {
	resp, err := tpm2.NVReadPublic{NVIndex: index}.Execute(tpm)
	if err != nil {
		return nil, tpm2.TPM2BName{}, fmt.Errorf("read public area of nv index %#x: %w", uint32(index), err)
	}
	pub, err := resp.NVPublic.Contents()
	if err != nil {
		return nil, tpm2.TPM2BName{}, fmt.Errorf("read public area of nv index %#x: %w", uint32(index), err)
	}
	return pub, resp.NVName, nil
}

// DefineNV defines an ordinary NV index of size bytes that the owner (with
// an empty password) may read and write.
func DefineNV(tpm transport.TPM, index tpm2.TPMHandle, size int) error {
	_, err := tpm2.NVDefineSpace{
		AuthHandle: ownerAuth(),
		PublicInfo: tpm2.New2B(tpm2.TPMSNVPublic{
			NVIndex: index,
			NameAlg: tpm2.TPMAlgSHA256,
			Attributes: tpm2.TPMANV{
				OwnerWrite: true,
				OwnerRead:  true,
				AuthWrite:  true,
				AuthRead:   true,
				NoDA:       true,
				NT:         tpm2.TPMNTOrdinary,
			},
			DataSize: uint16(size),
		}),
	}.Execute(tpm)
	if err != nil {
		return fmt.Errorf("define nv index %#x of %d bytes: %w", uint32(index), size, err)
	}
	return nil
}

// WriteNV writes data at offset 0 of an NV index with owner authorization,
// in chunks the TPM accepts. When define is set and the index does not
// exist, it is defined with len(data) bytes first.
func WriteNV(tpm transport.TPM, index tpm2.TPMHandle, data []byte, define bool) error {
	pub, name, err := NVPublic(tpm, index)
	if define && errors.Is(err, tpm2.TPMRCHandle) {
		if err := DefineNV(tpm, index, len(data)); err != nil {
			return err
		}
		pub, name, err = NVPublic(tpm, index)
	}
	if err != nil {
		return err
	}
	if int(pub.DataSize) < len(data) {
		return fmt.Errorf("write nv index %#x: holds %d bytes, need %d", uint32(index), pub.DataSize, len(data))
	}

	chunk := bufferMax(tpm)
	for off := 0; off < len(data); off += chunk {
		end := min(off+chunk, len(data))
		_, err := tpm2.NVWrite{
			AuthHandle: ownerAuth(),
			NVIndex:    tpm2.NamedHandle{Handle: index, Name: name},
			Data:       tpm2.TPM2BMaxNVBuffer{Buffer: data[off:end]},
			Offset:     uint16(off),
		}.Execute(tpm)
		if err != nil {
			return fmt.Errorf("write nv index %#x at offset %d: %w", uint32(index), off, err)
		}
		// The first write sets TPMA_NV_WRITTEN, which changes the name.
		if _, name, err = NVPublic(tpm, index); err != nil {
			return err
		}
	}
	return nil
}

// ReadNV reads a whole NV index with owner authorization, in chunks of at
// most the TPM's NV buffer size.
func ReadNV(tpm transport.TPM, index tpm2.TPMHandle) ([]byte, error) {
	pub, name, err := NVPublic(tpm, index)
	if err != nil {
		return nil, err
	}
	size := int(pub.DataSize)
	if size > maxNVSize {
		return nil, fmt.Errorf("read nv index %#x: size %d exceeds the maximum of %d bytes", uint32(index), size, maxNVSize)
	}

	chunk := bufferMax(tpm)
	data := make([]byte, 0, size)
	for off := 0; off < size; off += chunk {
		n := min(chunk, size-off)
		resp, err := tpm2.NVRead{
			AuthHandle: ownerAuth(),
			NVIndex:    tpm2.NamedHandle{Handle: index, Name: name},
			Size:       uint16(n),
			Offset:     uint16(off),
		}.Execute(tpm)
		if err != nil {
			return nil, fmt.Errorf("read nv index %#x at offset %d: %w", uint32(index), off, err)
		}
		if len(resp.Data.Buffer) != n {
			return nil, fmt.Errorf("read nv index %#x at offset %d: got %d bytes, expected %d", uint32(index), off, len(resp.Data.Buffer), n)
		}
		data = append(data, resp.Data.Buffer...)
	}
	return data, nil
}

// bufferMax returns TPM_PT_NV_BUFFER_MAX, the largest NV read or write, or
// defaultNVBufferMax when the TPM does not report it.
func bufferMax(tpm transport.TPM) int {
	resp, err := tpm2.GetCapability{
		Capability:    tpm2.TPMCapTPMProperties,
		Property:      uint32(tpm2.TPMPTNVBufferMax),
		PropertyCount: 1,
	}.Execute(tpm)
	if err != nil {
		return defaultNVBufferMax
	}
	props, err := resp.CapabilityData.Data.TPMProperties()
	if err != nil || len(props.TPMProperty) == 0 || props.TPMProperty[0].Property != tpm2.TPMPTNVBufferMax {
		return defaultNVBufferMax
	}
	v := int(props.TPMProperty[0].Value)
	if v <= 0 || v > defaultNVBufferMax*8 {
		return defaultNVBufferMax
	}
	return v
}
