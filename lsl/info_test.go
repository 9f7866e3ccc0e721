package lsl

import (
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"
)

// testdata/liblsl-shortinfo.xml is liblsl 1.16.2's answer to a discovery
// query, as SendStringMarkersC sent it (after the query id line).
func liblslShortinfo(t testing.TB) []byte {
	b, err := os.ReadFile("testdata/liblsl-shortinfo.xml")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sampleInfo() StreamInfo {
	return StreamInfo{Name: "MyEventStream", Type: "Markers", ChannelCount: 1, Format: String,
		SourceID: "id23443", Version: 110, CreatedAt: 20605.252233383,
		UID: "9a021fde-c5f0-450e-adf7-cf28361a951e", SessionID: "default", Hostname: "vm",
		V4DataPort: 16572, V4ServicePort: 16572, V6DataPort: 16573, V6ServicePort: 16573}
}

// We write a stream's description byte for byte as liblsl does.
func TestXMLMatchesLibLSL(t *testing.T) {
	si := sampleInfo()
	if got, want := si.XML(false), liblslShortinfo(t); !bytes.Equal(got, want) {
		t.Errorf("shortinfo differs from liblsl's:\n got %q\nwant %q", got, want)
	}
}

func TestParseInfo(t *testing.T) {
	got, err := ParseInfo(liblslShortinfo(t))
	if err != nil {
		t.Fatal(err)
	}
	if want := sampleInfo(); !reflect.DeepEqual(got, want) {
		t.Errorf("parsed\n%+v\nwant\n%+v", got, want)
	}

	full := StreamInfo{Name: "cueroom-bitalino", Type: "EDA", ChannelCount: 2, Format: Double64, Rate: 100,
		SourceID: "cueroom/bitalino", Fields: []Field{{"manufacturer", "PLUX"}, {"note", "a & b < c"}},
		Channels: []Channel{{"eda", "microsiemens", "EDA"}, {"ecg", "millivolts", "ECG"}},
		Version:  110, CreatedAt: 12.5, UID: "u", SessionID: "default", Hostname: "h", V4DataPort: 1}
	x := full.XML(true)
	if !bytes.Contains(x, []byte("\t<desc>\n\t\t<manufacturer>PLUX</manufacturer>\n\t\t<note>a &amp; b &lt; c</note>\n\t\t<channels>\n\t\t\t<channel>\n\t\t\t\t<label>eda</label>\n")) {
		t.Errorf("fullinfo layout:\n%s", x)
	}
	back, err := ParseInfo(x)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, full) {
		t.Errorf("round trip\n%+v\nwant\n%+v", back, full)
	}
}

func TestParseInfoRejects(t *testing.T) {
	base := string(liblslShortinfo(t))
	for _, tc := range []struct{ name, from, to string }{
		{"no name", "<name>MyEventStream</name>", "<name></name>"},
		{"bad format", "<channel_format>string</channel_format>", "<channel_format>utf8</channel_format>"},
		{"negative channels", "<channel_count>1</channel_count>", "<channel_count>-1</channel_count>"},
		{"huge channels", "<channel_count>1</channel_count>", "<channel_count>99999999</channel_count>"},
		{"port range", "<v4data_port>16572</v4data_port>", "<v4data_port>65536</v4data_port>"},
		{"no uid", "<uid>9a021fde-c5f0-450e-adf7-cf28361a951e</uid>", "<uid></uid>"},
		{"zero version", "<version>1.100000000000000</version>", "<version>0</version>"},
		{"nan rate", "<nominal_srate>0.000000000000000</nominal_srate>", "<nominal_srate>NaN</nominal_srate>"},
		{"not xml", "<info>", "<info"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseInfo([]byte(strings.Replace(base, tc.from, tc.to, 1))); err == nil {
				t.Error("accepted")
			}
		})
	}
}

func TestValidate(t *testing.T) {
	ok := StreamInfo{Name: "x", ChannelCount: 2, Format: Float32, Rate: 10}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*StreamInfo){
		"no name":      func(s *StreamInfo) { s.Name = "" },
		"no channels":  func(s *StreamInfo) { s.ChannelCount = 0 },
		"no format":    func(s *StreamInfo) { s.Format = FormatUndefined },
		"bad format":   func(s *StreamInfo) { s.Format = 9 },
		"neg rate":     func(s *StreamInfo) { s.Rate = -1 },
		"labels short": func(s *StreamInfo) { s.Channels = []Channel{{Label: "a"}} },
	} {
		si := ok
		mod(&si)
		if si.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
