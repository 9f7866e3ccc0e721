package video

import "image"

// MPEG-1 pictures are BT.601 studio range: Y runs 16–235 and Cb, Cr 16–240
// about 128. The standard library's YCbCr conversion is JPEG's full range,
// which would show black as dark grey and white as light grey, so the
// conversion is done here. Fixed point, 16 fractional bits.
const (
	kY  = 76309  // 1.164383 = 255/219
	kRV = 104597 // 1.596027 = 1.402 × 255/224
	kGU = 25675  // 0.391762 = 0.344136 × 255/224
	kGV = 53279  // 0.812968 = 0.714136 × 255/224
	kBU = 132201 // 2.017232 = 1.772 × 255/224
)

// toRGBA writes src (4:2:0) into dst, opaque. Each chroma sample serves a
// 2×2 block of pixels, so its products are computed once for the four.
func toRGBA(dst *image.RGBA, src *image.YCbCr) {
	w, h := dst.Rect.Dx(), dst.Rect.Dy()
	for y := 0; y < h; y += 2 {
		y2 := min(y+1, h-1) // an odd last row is written twice
		ya := src.Y[y*src.YStride:][:w]
		yb := src.Y[y2*src.YStride:][:w]
		c := (y / 2) * src.CStride
		cbr := src.Cb[c:][:(w+1)/2]
		crr := src.Cr[c:][:(w+1)/2]
		oa := dst.Pix[y*dst.Stride:][:4*w]
		ob := dst.Pix[y2*dst.Stride:][:4*w]
		for i := range cbr {
			u, v := int32(cbr[i])-128, int32(crr[i])-128
			r, g, b := kRV*v+1<<15, -kGU*u-kGV*v+1<<15, kBU*u+1<<15
			x := 2 * i
			x2 := min(x+1, w-1) // likewise an odd last column
			put(oa[4*x:], ya[x], r, g, b)
			put(oa[4*x2:], ya[x2], r, g, b)
			put(ob[4*x:], yb[x], r, g, b)
			put(ob[4*x2:], yb[x2], r, g, b)
		}
	}
}

func put(o []byte, y byte, r, g, b int32) {
	_ = o[3]
	l := (int32(y) - 16) * kY
	o[0], o[1], o[2], o[3] = clip8(l+r), clip8(l+g), clip8(l+b), 0xFF
}

// clamp8 maps v>>16 (which stays within -512..511 for any input) to 0..255;
// a table is faster than two compares per channel.
var clamp8 = func() (t [1024]byte) {
	for i := range t {
		t[i] = byte(min(max(i-512, 0), 255))
	}
	return t
}()

func clip8(v int32) byte { return clamp8[uint32(v>>16+512)&1023] }
