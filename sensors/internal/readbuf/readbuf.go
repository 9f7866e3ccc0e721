// Package readbuf is the refill step the frame decoders share: keep the
// unread bytes, read more after them, and give up on a reader that makes
// no progress.
package readbuf

import "io"

// MaxZeros is how many (0, nil) reads in a row count as no progress: a
// reader that keeps returning them would spin a decoder forever.
const MaxZeros = 100

// Fill moves buf[*lo:*hi] to the start of buf and reads more after it.
// It reports false when no more bytes will come; *err then says why
// (the reader's error, or io.ErrNoProgress). *zeros counts empty reads.
func Fill(r io.Reader, buf []byte, lo, hi *int, err *error, zeros *int) bool {
	if *err != nil {
		return false
	}
	if *lo > 0 {
		*hi = copy(buf, buf[*lo:*hi])
		*lo = 0
	}
	n, rerr := r.Read(buf[*hi:])
	*hi += n
	switch {
	case rerr != nil:
		*err = rerr
	case n == 0:
		if *zeros++; *zeros >= MaxZeros {
			*err = io.ErrNoProgress
		}
	default:
		*zeros = 0
	}
	return n > 0 || *err == nil
}
