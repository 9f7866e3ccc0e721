package offline_test

import (
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/sensors/physio/offline"
)

func TestReadCSV(t *testing.T) {
	nan := math.NaN()
	cases := []struct {
		name  string
		in    string
		sel   []string
		names []string
		want  [][]float64
		gaps  []int
	}{
		{"header, by name", "ECG,EDA\n1,2\n3,4\n", []string{"eda", "ECG"}, []string{"EDA", "ECG"}, [][]float64{{2, 4}, {1, 3}}, []int{0, 0}},
		{"header, by number", "a,b,c\n1,2,3\n", []string{"3"}, []string{"c"}, [][]float64{{3}}, []int{0}},
		{"no header", "1,2\n3,4\n", []string{"2"}, []string{"column 2"}, [][]float64{{2, 4}}, []int{0}},
		{"tabs", "x\ty\n1\t2\n", []string{"y"}, []string{"y"}, [][]float64{{2}}, []int{0}},
		{"semicolons and CRLF", "x;y\r\n1;2\r\n", []string{"y"}, []string{"y"}, [][]float64{{2}}, []int{0}},
		// The blank line is a sample that was not written: a gap, not dropped
		// (issue 13: dropping it shifted every later beat).
		{"comments and blanks are gaps", "# made by hand\nv\n1\n\n NaN \nNA\n2\n", []string{"v"}, []string{"v"}, [][]float64{{1, nan, nan, nan, 2}}, []int{3}},
		{"text elsewhere is fine", "v,cond\n1,neutral\n2,cue\n", []string{"v"}, []string{"v"}, [][]float64{{1, 2}}, []int{0}},
		{"quoted cells", "\"v\",\"w\"\n\"1.5\",2\n", []string{"v"}, []string{"v"}, [][]float64{{1.5}}, []int{0}},
		{"infinity and overflow are gaps", "v\ninf\n1e999\n-3e2\n", []string{"v"}, []string{"v"}, [][]float64{{nan, nan, -300}}, []int{2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cols, err := offline.ReadCSV(strings.NewReader(c.in), "rec.csv", c.sel)
			require.NoError(t, err)
			require.Len(t, cols, len(c.want))
			for i, col := range cols {
				assert.Equal(t, c.names[i], col.Name)
				assert.Equal(t, c.gaps[i], col.Gaps)
				require.Len(t, col.Values, len(c.want[i]))
				for j, v := range c.want[i] {
					if math.IsNaN(v) {
						assert.True(t, math.IsNaN(col.Values[j]), "row %d", j)
					} else {
						assert.Equal(t, v, col.Values[j], "row %d", j)
					}
				}
			}
		})
	}
}

func TestReadCSVErrorsSayWhereAndWhat(t *testing.T) {
	cases := []struct {
		name string
		in   string
		sel  []string
		want []string // all must appear in the message
	}{
		{"empty file", "", []string{"v"}, []string{"rec.csv", "empty"}},
		{"header only", "v,w\n", []string{"v"}, []string{"rec.csv", "no data rows"}},
		{"unknown column", "ECG,EDA\n1,2\n", []string{"PPG"}, []string{"rec.csv:1", `no column named "PPG"`, `"ECG", "EDA"`}},
		{"column number too big", "1,2\n", []string{"3"}, []string{"rec.csv:1", "no column 3", "2 columns"}},
		{"name without header", "1,2\n", []string{"ECG"}, []string{"no header row", "number"}},
		{"not a number", "ECG,EDA\n1,2\n3,abc\n", []string{"EDA"}, []string{"rec.csv:3", `column "EDA" (2)`, `"abc" is not a number`, "blank"}},
		{"ragged line", "a,b\n1,2\n3\n4,5\n", []string{"a"}, []string{"rec.csv:3", "number of cells", "same columns"}},
		{"bad quote", "a\n\"1\n", []string{"a"}, []string{"rec.csv:2", "quot"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := offline.ReadCSV(strings.NewReader(c.in), "rec.csv", c.sel)
			require.Error(t, err)
			for _, w := range c.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}
