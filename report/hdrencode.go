package report

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"math"
	"sync"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// HdrHistogram's V2 encoding: a header and the counts as zig-zag LEB128
// numbers (a run of zeros as one negative number), compressed with zlib
// behind a second cookie and base64-encoded. The values are those of
// hdrhistogram-go's encoder, which every HdrHistogram library decodes.
const (
	v2Cookie           int32 = 0x1c849303 | 0x10
	v2CompressedCookie int32 = 0x1c849304 | 0x10
)

// hdrEncoder keeps the buffers and the zlib compressor an encoding needs.
// hdrhistogram-go makes a new compressor for every histogram it encodes,
// most of a megabyte at the best compression; a run that encodes one
// histogram a second for the timeline would churn through that much
// garbage a second, and its heap would never settle.
type hdrEncoder struct {
	raw, z bytes.Buffer
	zw     *zlib.Writer
	out    []byte
}

var hdrEncoders = sync.Pool{New: func() any {
	e := &hdrEncoder{}
	e.zw, _ = zlib.NewWriterLevel(&e.z, zlib.BestCompression) // a valid level cannot fail
	return e
}}

// encode returns h in the V2 compressed base64 encoding.
func (e *hdrEncoder) encode(h *hdrhistogram.Histogram) string {
	snap := h.Export()
	counts := snap.Counts
	limit := len(counts)
	for limit > 1 && counts[limit-1] == 0 {
		limit-- // an empty histogram keeps its first count, as the library writes it
	}
	e.raw.Reset()
	var hdr [40]byte
	binary.BigEndian.PutUint32(hdr[0:], uint32(v2Cookie))
	// hdr[4:8], the payload length, is filled in below; hdr[8:12], the
	// normalizing index offset, stays 0 (counts are not shifted).
	binary.BigEndian.PutUint32(hdr[12:], uint32(int32(snap.SignificantFigures)))
	binary.BigEndian.PutUint64(hdr[16:], uint64(snap.LowestTrackableValue))
	binary.BigEndian.PutUint64(hdr[24:], uint64(snap.HighestTrackableValue))
	ratio := snap.IntegerToDoubleConversionRatio
	if ratio == 0 {
		ratio = 1
	}
	binary.BigEndian.PutUint64(hdr[32:], math.Float64bits(ratio))
	e.raw.Write(hdr[:])
	var num [binary.MaxVarintLen64]byte
	for i := 0; i < limit; {
		v := counts[i]
		i++
		if v == 0 {
			zeros := int64(1)
			for i < limit && counts[i] == 0 {
				zeros++
				i++
			}
			if zeros > 1 {
				v = -zeros
			}
		}
		n := binary.PutUvarint(num[:], uint64((v<<1)^(v>>63)))
		e.raw.Write(num[:n])
	}
	payload := e.raw.Bytes()
	binary.BigEndian.PutUint32(payload[4:], uint32(len(payload)-40))

	e.z.Reset()
	e.zw.Reset(&e.z)
	e.zw.Write(payload)
	e.zw.Close()
	var head [8]byte
	binary.BigEndian.PutUint32(head[0:], uint32(v2CompressedCookie))
	binary.BigEndian.PutUint32(head[4:], uint32(e.z.Len()))
	e.raw.Reset()
	e.raw.Write(head[:])
	e.raw.Write(e.z.Bytes())
	n := base64.StdEncoding.EncodedLen(e.raw.Len())
	if cap(e.out) < n {
		e.out = make([]byte, n)
	}
	e.out = e.out[:n]
	base64.StdEncoding.Encode(e.out, e.raw.Bytes())
	return string(e.out)
}
