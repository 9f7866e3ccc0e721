package dsp

// MovingSum is the sum of the last n values. The sum is recomputed from the
// window every n steps so rounding errors (and the residue of a huge spike)
// cannot accumulate.
type MovingSum struct {
	buf  []float64
	i    int
	sum  float64
	full bool
}

// NewMovingSum returns a window of n ≥ 1 values, all zero.
func NewMovingSum(n int) *MovingSum { return &MovingSum{buf: make([]float64, max(n, 1))} }

// Push adds v, drops the oldest value and returns the new sum.
func (m *MovingSum) Push(v float64) float64 {
	m.sum += v - m.buf[m.i]
	m.buf[m.i] = v
	m.i++
	if m.i == len(m.buf) {
		m.i = 0
		m.full = true
		s := 0.0
		for _, x := range m.buf {
			s += x
		}
		m.sum = s
	}
	return m.sum
}

// Mean is the sum over the values pushed so far (at most n).
func (m *MovingSum) Mean() float64 {
	if m.full {
		return m.sum / float64(len(m.buf))
	}
	if m.i == 0 {
		return 0
	}
	return m.sum / float64(m.i)
}

// Len is the window length n.
func (m *MovingSum) Len() int { return len(m.buf) }

// Reset empties the window.
func (m *MovingSum) Reset() {
	clear(m.buf)
	m.i, m.sum, m.full = 0, 0, false
}

// Ring keeps the last values of a signal by absolute sample index, so a
// detector can look back a bounded distance.
type Ring struct {
	buf []float64
	n   int64 // number of values pushed
}

// NewRing keeps the last n ≥ 1 values.
func NewRing(n int) *Ring { return &Ring{buf: make([]float64, max(n, 1))} }

// Push appends v at index Len()-1 after the call.
func (r *Ring) Push(v float64) {
	r.buf[r.n%int64(len(r.buf))] = v
	r.n++
}

// Len is the number of values pushed so far; the newest is at Len()-1.
func (r *Ring) Len() int64 { return r.n }

// Oldest is the smallest index still held.
func (r *Ring) Oldest() int64 { return max(0, r.n-int64(len(r.buf))) }

// At returns the value at absolute index i, which must be in [Oldest, Len).
func (r *Ring) At(i int64) float64 { return r.buf[i%int64(len(r.buf))] }

// clampRange limits [from, to] to what the ring holds; ok is false when
// nothing is left.
func (r *Ring) clampRange(from, to int64) (int64, int64, bool) {
	from = max(from, r.Oldest())
	to = min(to, r.n-1)
	return from, to, from <= to
}

// ArgMax returns the index of the largest value in [from, to] (clamped to
// what is held; sign -1 finds the smallest). ok is false if the range is
// empty.
func (r *Ring) ArgMax(from, to int64, sign float64) (idx int64, ok bool) {
	from, to, ok = r.clampRange(from, to)
	if !ok {
		return 0, false
	}
	best, bi := sign*r.At(from), from
	for i := from + 1; i <= to; i++ {
		if v := sign * r.At(i); v > best {
			best, bi = v, i
		}
	}
	return bi, true
}

// Refine returns i moved by the vertex of the parabola through i-1, i, i+1
// (sub-sample peak position), or i itself at the edges of what is held.
func (r *Ring) Refine(i int64) float64 {
	if i-1 < r.Oldest() || i+1 >= r.n {
		return float64(i)
	}
	a, b, c := r.At(i-1), r.At(i), r.At(i+1)
	den := a - 2*b + c
	if den == 0 {
		return float64(i)
	}
	off := 0.5 * (a - c) / den
	if off > 0.5 || off < -0.5 {
		return float64(i)
	}
	return float64(i) + off
}
