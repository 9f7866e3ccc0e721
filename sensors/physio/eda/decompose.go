package eda

import (
	"errors"
	"fmt"
	"math"

	"github.com/cueroom/cueroom/sensors/physio/internal/dsp"
)

// Method is a tonic/phasic decomposition.
type Method string

const (
	// Filter (the default, fast): the tonic level is the conductance
	// low-passed at 0.05 Hz with zero phase, the phasic part the rest — the
	// "high-pass" method of BIOPAC's AcqKnowledge and NeuroKit2's
	// eda_phasic. Linear time, no parameters to tune, but a response
	// partly leaks into the tonic level and the phasic part undershoots
	// after it.
	Filter Method = "filter"
	// CvxEDA is the convex-optimisation model of Greco, Valenza, Lanata,
	// Scilingo & Citi (2016), "cvxEDA: a convex optimization approach to
	// electrodermal activity processing", IEEE Trans. Biomed. Eng.
	// 63(4):797–804: the conductance is tonic + phasic + noise, the phasic
	// part the response of a Bateman impulse response to a sparse,
	// non-negative sudomotor driver, the tonic part a cubic B-spline plus
	// an offset and a linear trend. It is solved as a quadratic program
	// (see CvxConfig) by this package's own interior-point solver, written
	// from the paper's model (no code of the authors' was used).
	CvxEDA Method = "cvxeda"
)

// ParseMethod reads a method name ("" is Filter).
func ParseMethod(s string) (Method, error) {
	switch Method(s) {
	case "", Filter:
		return Filter, nil
	case CvxEDA:
		return CvxEDA, nil
	}
	return "", fmt.Errorf("eda: unknown decomposition %q: use %q or %q", s, Filter, CvxEDA)
}

// Decomposition is a skin conductance signal split into a tonic level and
// a phasic part (Tonic + Phasic ≈ the input), one value per input sample.
type Decomposition struct {
	Method Method
	Tonic  []float64 // µS
	Phasic []float64 // µS
	// Driver is cvxEDA's sudomotor driver (non-negative, sparse), µS/s: a
	// unit-area burst of it raises the phasic part by a Bateman response of
	// unit area per second. Nil for Filter.
	Driver []float64
}

// CvxConfig tunes cvxEDA; zero fields take the default in brackets. The
// time constants and the knot spacing are the paper's defaults. The model
// is discretised here by impulse invariance at an internal rate of about 8
// Hz (Rate), and the weights are per second of signal on the conductance
// z-scored over the stretch analysed; Alpha and Gamma were chosen on this
// scale (so they are not the paper's numbers, whose discretisation
// differs), to keep the driver sparse without letting the spline absorb
// responses.
type CvxConfig struct {
	TauDecay float64 // τ0, the Bateman function's slow (recovery) time constant, s [2]
	TauRise  float64 // τ1, its fast (rise) time constant, s [0.7]
	Knots    float64 // tonic spline knot spacing, s [10]
	Alpha    float64 // weight of the driver's L1 norm (sparsity) [0.02]
	Gamma    float64 // weight of the spline coefficients' squared L2 norm [0.01]
	Rate     float64 // internal rate, Hz: the input is block-averaged down to between Rate and 2·Rate [8]
}

func (c *CvxConfig) defaults() {
	def := func(p *float64, v float64) {
		if !(*p > 0) || math.IsInf(*p, 0) {
			*p = v
		}
	}
	def(&c.TauDecay, 2)
	def(&c.TauRise, 0.7)
	def(&c.Knots, 10)
	def(&c.Alpha, 0.02)
	def(&c.Gamma, 0.01)
	def(&c.Rate, 8)
	if c.TauRise > c.TauDecay {
		c.TauRise, c.TauDecay = c.TauDecay, c.TauRise
	}
	if c.TauRise == c.TauDecay {
		c.TauRise = 0.35 * c.TauDecay
	}
}

// Decompose splits x (µS at fs Hz, no NaN: fill gaps first) into a tonic
// level and a phasic part. cutoff is Filter's boundary, Hz (0: 0.05); cvx
// tunes CvxEDA.
func Decompose(x []float64, fs float64, m Method, cutoff float64, cvx CvxConfig) (*Decomposition, error) {
	if !(fs > 0) || math.IsInf(fs, 0) {
		return nil, errors.New("eda: the sampling rate must be a positive number of Hz")
	}
	switch m {
	case "", Filter:
		return decomposeFilter(x, fs, cutoff), nil
	case CvxEDA:
		return decomposeCvx(x, fs, cvx)
	}
	return nil, fmt.Errorf("eda: unknown decomposition %q", m)
}

func decomposeFilter(x []float64, fs, fc float64) *Decomposition {
	if !(fc > 0) {
		fc = DefaultTonicCutoff
	}
	fc = min(fc, 0.45*fs)
	t := append([]float64(nil), x...)
	dsp.FiltFilt(dsp.LowPass(fc, fs, 2), t, int(3*fs/fc))
	p := make([]float64, len(x))
	for i := range x {
		p[i] = x[i] - t[i]
	}
	return &Decomposition{Method: Filter, Tonic: t, Phasic: p}
}

// decomposeCvx fits the cvxEDA model.
//
// Model, at the internal rate (sampling period δ): y = r + B·l + C·d + e,
// where y is the block-averaged conductance z-scored, r the phasic part, B
// a cubic B-spline basis with knots every Knots seconds, l its
// coefficients, C = [1, t] (offset, trend) and e white noise. The phasic
// part is the driver p filtered by the Bateman impulse response
// h(t) = e^(−t/τ0) − e^(−t/τ1), discretised by impulse invariance:
//
//	r[n] = (a0 + a1)·r[n−1] − a0·a1·r[n−2] + g·p[n],  a_i = e^(−δ/τ_i), g = δ·(a0 − a1)
//
// so p = A·r / g with A the lower-triangular band [1, −(a0+a1), a0·a1]
// (r is 0 before the stretch). The paper's problem then reads, in r:
//
//	minimise  δ/2·‖r + B·l + C·d − y‖² + α·δ·Σ p + γ/2·‖l‖²   subject to  p = A·r/g ≥ 0
//
// a convex QP with a banded Hessian in r, solved by a Mehrotra
// predictor–corrector primal–dual interior-point method (qp below).
func decomposeCvx(x []float64, fs float64, c CvxConfig) (*Decomposition, error) {
	c.defaults()
	n := len(x)
	out := &Decomposition{Method: CvxEDA, Tonic: make([]float64, n), Phasic: make([]float64, n), Driver: make([]float64, n)}
	if n == 0 {
		return out, nil
	}
	k := max(1, int(fs/c.Rate))
	m := (n + k - 1) / k
	y := make([]float64, m)
	for j := range m {
		s, cnt := 0.0, 0
		for i := j * k; i < min(n, (j+1)*k); i++ {
			s += x[i]
			cnt++
		}
		y[j] = s / float64(cnt)
	}
	var mean, sd float64
	for _, v := range y {
		mean += v
	}
	mean /= float64(m)
	for _, v := range y {
		sd += (v - mean) * (v - mean)
	}
	sd = math.Sqrt(sd / float64(m))
	if m < 8 || !(sd > 1e-9) || math.IsInf(sd, 0) {
		// Too short or flat: all tonic.
		copy(out.Tonic, x)
		return out, nil
	}
	for j := range y {
		y[j] = (y[j] - mean) / sd
	}
	delta := float64(k) / fs
	a0, a1 := math.Exp(-delta/c.TauDecay), math.Exp(-delta/c.TauRise)
	g := delta * (a0 - a1)
	knot := max(1, c.Knots/delta) // samples of y per knot interval
	sp := newSpline(m, knot)
	prob := &qp{
		n: m, y: y, delta: delta, b1: -(a0 + a1), b2: a0 * a1,
		lin: c.Alpha * delta / g, gamma: c.Gamma, sp: sp,
	}
	r, u, err := prob.solve()
	if err != nil {
		return nil, err
	}
	// Back to the input's rate: the spline and trend are evaluated at every
	// sample (they are continuous in time); the phasic part and the driver
	// are interpolated linearly between block centres.
	centre := func(j int) float64 { return float64(j*k) + float64(min(k, n-j*k)-1)/2 }
	drv := make([]float64, m)
	for j := range m {
		p := r[j] + prob.b1*at(r, j-1) + prob.b2*at(r, j-2)
		drv[j] = max(0, p/g) * sd
	}
	j := 0
	for i := range n {
		pos := (float64(i) - float64(k-1)/2) / float64(k) // in samples of y
		out.Tonic[i] = mean + sd*sp.eval(pos, u)
		for j+1 < m && centre(j+1) <= float64(i) {
			j++
		}
		if j+1 < m && centre(j) <= float64(i) {
			f := (float64(i) - centre(j)) / (centre(j+1) - centre(j))
			out.Phasic[i] = sd * (r[j] + f*(r[j+1]-r[j]))
			out.Driver[i] = drv[j] + f*(drv[j+1]-drv[j])
		} else {
			// Before the first or after the last centre.
			out.Phasic[i] = sd * r[j]
			out.Driver[i] = drv[j]
		}
	}
	return out, nil
}

func at(v []float64, i int) float64 {
	if i < 0 {
		return 0
	}
	return v[i]
}

// spline is a uniform cubic B-spline basis over samples 0..n-1 with knots
// every `knot` samples, plus the offset and linear trend columns: U = [B C].
type spline struct {
	n     int
	knot  float64
	nb    int // B-spline functions
	scale float64
}

func newSpline(n int, knot float64) *spline {
	segs := max(1, int(math.Ceil(float64(n-1)/knot)))
	return &spline{n: n, knot: knot, nb: segs + 3, scale: float64(max(1, n-1))}
}

// cols is the number of columns of U.
func (s *spline) cols() int { return s.nb + 2 }

// row gives the non-zero entries of U's row at position t (samples):
// columns idx[0..3] (consecutive B-splines) with weights w[0..3], then the
// offset (1) and the trend (t/scale) in columns nb and nb+1.
func (s *spline) row(t float64) (first int, w [4]float64, trend float64) {
	u := t / s.knot
	seg := int(math.Floor(u))
	seg = min(max(seg, 0), s.nb-4)
	f := u - float64(seg)
	f2, f3 := f*f, f*f*f
	w = [4]float64{
		(1 - 3*f + 3*f2 - f3) / 6,
		(3*f3 - 6*f2 + 4) / 6,
		(-3*f3 + 3*f2 + 3*f + 1) / 6,
		f3 / 6,
	}
	return seg, w, t / s.scale
}

// eval is U·u at position t.
func (s *spline) eval(t float64, u []float64) float64 {
	first, w, tr := s.row(t)
	v := u[s.nb] + u[s.nb+1]*tr
	for q := range 4 {
		v += w[q] * u[first+q]
	}
	return v
}
