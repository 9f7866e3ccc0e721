package eda

import (
	"errors"
	"math"
)

// qp is cvxEDA's quadratic program in the phasic part r and the tonic
// coefficients u = (l, d) (see decomposeCvx):
//
//	minimise  δ/2·‖r + U·u − y‖² + lin·1ᵀA·r + γ/2·‖l‖²   subject to  A·r ≥ 0
//
// with A lower-triangular banded [1, b1, b2]. The Newton systems of the
// interior-point method are [δI + AᵀWA, δU; δUᵀ, δUᵀU + Γ] (W diagonal):
// the r block is pentadiagonal, so it is factored in O(n) and the few
// columns of U are eliminated through their Schur complement.
type qp struct {
	n            int
	y            []float64
	delta        float64
	b1, b2       float64
	lin, gamma   float64
	sp           *spline
	first        []int
	w            [][4]float64
	trend        []float64
	maxIter      int
	iters        int // iterations used by the last solve
	dense        []float64
	qcols        [][]float64
	diag, o1, o2 []float64 // LDLᵀ of the r block: D, L's first and second sub-diagonals
}

// errNoConvergence: the interior-point method did not converge (it always
// has on real and simulated recordings; this guards the pathological).
var errNoConvergence = errors.New("eda: cvxEDA did not converge")

func (q *qp) av(v, dst []float64) {
	for i := range v {
		dst[i] = v[i] + q.b1*at(v, i-1) + q.b2*at(v, i-2)
	}
}

func (q *qp) atv(v, dst []float64) {
	n := len(v)
	for i := range v {
		s := v[i]
		if i+1 < n {
			s += q.b1 * v[i+1]
		}
		if i+2 < n {
			s += q.b2 * v[i+2]
		}
		dst[i] = s
	}
}

// uv is U·u at every sample, into dst.
func (q *qp) uv(u, dst []float64) {
	nb := q.sp.nb
	for i := range dst {
		v := u[nb] + u[nb+1]*q.trend[i]
		for k := range 4 {
			v += q.w[i][k] * u[q.first[i]+k]
		}
		dst[i] = v
	}
}

// utv is Uᵀ·v, into dst.
func (q *qp) utv(v, dst []float64) {
	clear(dst)
	nb := q.sp.nb
	for i, x := range v {
		for k := range 4 {
			dst[q.first[i]+k] += q.w[i][k] * x
		}
		dst[nb] += x
		dst[nb+1] += q.trend[i] * x
	}
}

// factor computes the LDLᵀ factors of δI + AᵀWA.
func (q *qp) factor(W []float64) bool {
	n := q.n
	b1, b2 := q.b1, q.b2
	wAt := func(i int) float64 {
		if i < n {
			return W[i]
		}
		return 0
	}
	for i := range n {
		p0 := q.delta + W[i] + b1*b1*wAt(i+1) + b2*b2*wAt(i+2)
		p1 := b1*wAt(i+1) + b1*b2*wAt(i+2)
		p2 := b2 * wAt(i+2)
		d := p0
		if i >= 1 {
			d -= q.o1[i-1] * q.o1[i-1] * q.diag[i-1]
		}
		if i >= 2 {
			d -= q.o2[i-2] * q.o2[i-2] * q.diag[i-2]
		}
		if !(d > 0) {
			return false
		}
		q.diag[i] = d
		l1 := p1
		if i >= 1 {
			l1 -= q.o2[i-1] * q.diag[i-1] * q.o1[i-1]
		}
		q.o1[i] = l1 / d
		q.o2[i] = p2 / d
	}
	return true
}

// solveBand solves (δI + AᵀWA)·x = b in place.
func (q *qp) solveBand(b []float64) {
	n := q.n
	for i := 1; i < n; i++ {
		b[i] -= q.o1[i-1] * b[i-1]
		if i >= 2 {
			b[i] -= q.o2[i-2] * b[i-2]
		}
	}
	for i := range n {
		b[i] /= q.diag[i]
	}
	for i := n - 2; i >= 0; i-- {
		b[i] -= q.o1[i] * b[i+1]
		if i+2 < n {
			b[i] -= q.o2[i] * b[i+2]
		}
	}
}

// solve runs the interior-point method and returns r and u.
func (q *qp) solve() ([]float64, []float64, error) {
	n, mc := q.n, q.sp.cols()
	nb := q.sp.nb
	q.first, q.w, q.trend = make([]int, n), make([][4]float64, n), make([]float64, n)
	for i := range n {
		q.first[i], q.w[i], q.trend[i] = q.sp.row(float64(i))
	}
	q.diag, q.o1, q.o2 = make([]float64, n), make([]float64, n), make([]float64, n)
	if q.maxIter == 0 {
		q.maxIter = 100
	}
	// Constant parts: δUᵀU + Γ, Uᵀy, Aᵀ1.
	uu := make([]float64, mc*mc)
	for i := range n {
		idx := [6]int{q.first[i], q.first[i] + 1, q.first[i] + 2, q.first[i] + 3, nb, nb + 1}
		val := [6]float64{q.w[i][0], q.w[i][1], q.w[i][2], q.w[i][3], 1, q.trend[i]}
		for a := range 6 {
			for b := range 6 {
				uu[idx[a]*mc+idx[b]] += q.delta * val[a] * val[b]
			}
		}
	}
	for a := range nb {
		uu[a*mc+a] += q.gamma
	}
	for a := nb; a < mc; a++ {
		uu[a*mc+a] += 1e-9 * q.delta * float64(n) // offset and trend: unpenalised, but never singular
	}
	ones := make([]float64, n)
	for i := range ones {
		ones[i] = 1
	}
	at1 := make([]float64, n)
	q.atv(ones, at1)

	r, u := make([]float64, n), make([]float64, mc)
	s, z := make([]float64, n), make([]float64, n)
	for i := range n {
		s[i], z[i] = 1, 1
	}
	// Work space.
	res := make([]float64, n)  // r + Uu − y
	gr := make([]float64, n)   // dual residual, r part
	gu := make([]float64, mc)  // dual residual, u part
	rp := make([]float64, n)   // Ar − s
	W := make([]float64, n)    // z/s
	tmp := make([]float64, n)  // scratch
	tmp2 := make([]float64, n) // scratch
	tu := make([]float64, mc)
	ar := make([]float64, n)
	dr, du := make([]float64, n), make([]float64, mc)
	ds, dz := make([]float64, n), make([]float64, n)
	dsA, dzA := make([]float64, n), make([]float64, n)
	rc := make([]float64, n)
	q.qcols = make([][]float64, mc)
	for a := range q.qcols {
		q.qcols[a] = make([]float64, n)
	}
	sc := make([]float64, mc*mc)
	chol := make([]float64, mc*mc)
	ynorm := 0.0
	for _, v := range q.y {
		ynorm += v * v
	}
	ynorm = math.Sqrt(ynorm)

	// newton solves for (dr, du, ds, dz) given rc, with the factorisation
	// and residuals of this iteration.
	newton := func() {
		// rhs_r = −gr + Aᵀ(S⁻¹(rc − Z·rp)); rhs_u = −gu.
		for i := range n {
			tmp[i] = (rc[i] - z[i]*rp[i]) / s[i]
		}
		q.atv(tmp, tmp2)
		for i := range n {
			tmp2[i] -= gr[i]
		}
		// t = P⁻¹ rhs_r; du = Sc⁻¹(rhs_u − δUᵀt); dr = t − Q·du.
		q.solveBand(tmp2)
		q.utv(tmp2, tu)
		for a := range mc {
			du[a] = -gu[a] - q.delta*tu[a]
		}
		cholSolve(chol, mc, du)
		for i := range n {
			v := tmp2[i]
			for a := range mc {
				v -= q.qcols[a][i] * du[a]
			}
			dr[i] = v
		}
		q.av(dr, ds)
		for i := range n {
			ds[i] += rp[i]
			dz[i] = (rc[i] - z[i]*ds[i]) / s[i]
		}
	}
	step := func() float64 {
		a := 1.0
		for i := range n {
			if ds[i] < 0 {
				a = min(a, -s[i]/ds[i])
			}
			if dz[i] < 0 {
				a = min(a, -z[i]/dz[i])
			}
		}
		return a
	}

	for it := range q.maxIter {
		q.iters = it + 1
		// Residuals.
		q.uv(u, res)
		for i := range n {
			res[i] += r[i] - q.y[i]
		}
		q.atv(z, tmp)
		for i := range n {
			gr[i] = q.delta*res[i] + q.lin*at1[i] - tmp[i]
		}
		q.utv(res, gu)
		for a := range mc {
			gu[a] *= q.delta
			if a < nb {
				gu[a] += q.gamma * u[a]
			} else {
				gu[a] += 1e-9 * q.delta * float64(n) * u[a]
			}
		}
		q.av(r, ar)
		mu := 0.0
		pr, dn, sn := 0.0, 0.0, 0.0
		for i := range n {
			rp[i] = ar[i] - s[i]
			mu += s[i] * z[i]
			pr += rp[i] * rp[i]
			dn += gr[i] * gr[i]
			sn += s[i] * s[i]
		}
		for a := range mc {
			dn += gu[a] * gu[a]
		}
		mu /= float64(n)
		if math.Sqrt(pr) <= 1e-9*(1+math.Sqrt(sn)) && math.Sqrt(dn) <= 1e-9*(1+q.delta*ynorm) && mu <= 1e-10 {
			return r, u, nil
		}
		if math.IsNaN(mu) || math.IsInf(mu, 0) {
			return nil, nil, errNoConvergence
		}
		// Factorise.
		for i := range n {
			W[i] = z[i] / s[i]
		}
		if !q.factor(W) {
			return nil, nil, errNoConvergence
		}
		for a := range mc {
			col := q.qcols[a]
			clear(col)
			if a < nb {
				for i := range n {
					if k := a - q.first[i]; k >= 0 && k < 4 {
						col[i] = q.delta * q.w[i][k]
					}
				}
			} else if a == nb {
				for i := range n {
					col[i] = q.delta
				}
			} else {
				for i := range n {
					col[i] = q.delta * q.trend[i]
				}
			}
			q.solveBand(col)
		}
		copy(sc, uu)
		for i := range n {
			idx := [6]int{q.first[i], q.first[i] + 1, q.first[i] + 2, q.first[i] + 3, nb, nb + 1}
			val := [6]float64{q.w[i][0], q.w[i][1], q.w[i][2], q.w[i][3], 1, q.trend[i]}
			for k := range 6 {
				row := sc[idx[k]*mc : idx[k]*mc+mc]
				f := q.delta * val[k]
				for b := range mc {
					row[b] -= f * q.qcols[b][i]
				}
			}
		}
		if !cholesky(sc, chol, mc) {
			return nil, nil, errNoConvergence
		}
		// Predictor (affine scaling).
		for i := range n {
			rc[i] = -s[i] * z[i]
		}
		newton()
		aAff := step()
		muAff := 0.0
		for i := range n {
			muAff += (s[i] + aAff*ds[i]) * (z[i] + aAff*dz[i])
		}
		muAff /= float64(n)
		sigma := math.Pow(muAff/mu, 3)
		copy(dsA, ds)
		copy(dzA, dz)
		// Corrector.
		for i := range n {
			rc[i] = -s[i]*z[i] - dsA[i]*dzA[i] + sigma*mu
		}
		newton()
		a := min(1, 0.99*step())
		for i := range n {
			r[i] += a * dr[i]
			s[i] += a * ds[i]
			z[i] += a * dz[i]
		}
		for k := range mc {
			u[k] += a * du[k]
		}
	}
	return nil, nil, errNoConvergence
}

// cholesky factors the symmetric positive definite n×n matrix a (row-major)
// into l (lower triangle, row-major); false if a is not positive definite.
func cholesky(a, l []float64, n int) bool {
	clear(l)
	for j := range n {
		d := a[j*n+j]
		for k := range j {
			d -= l[j*n+k] * l[j*n+k]
		}
		if !(d > 0) {
			return false
		}
		d = math.Sqrt(d)
		l[j*n+j] = d
		for i := j + 1; i < n; i++ {
			v := a[i*n+j]
			for k := range j {
				v -= l[i*n+k] * l[j*n+k]
			}
			l[i*n+j] = v / d
		}
	}
	return true
}

// cholSolve solves L·Lᵀ·x = b in place.
func cholSolve(l []float64, n int, b []float64) {
	for i := range n {
		v := b[i]
		for k := range i {
			v -= l[i*n+k] * b[k]
		}
		b[i] = v / l[i*n+i]
	}
	for i := n - 1; i >= 0; i-- {
		v := b[i]
		for k := i + 1; k < n; k++ {
			v -= l[k*n+i] * b[k]
		}
		b[i] = v / l[i*n+i]
	}
}
