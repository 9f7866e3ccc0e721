package lsl

import "testing"

func TestQuery(t *testing.T) {
	si := StreamInfo{Name: "cueroom-EEG", Type: "EEG", ChannelCount: 6, Format: Double64, Rate: 500,
		SourceID: "src", SessionID: "default", UID: "u", Version: 110,
		Fields:   []Field{{"manufacturer", "cueroom"}},
		Channels: []Channel{{"C3", "microvolts", "EEG"}, {"C4", "microvolts", "EEG"}}}
	for _, tc := range []struct {
		q    string
		want bool
	}{
		{"", true},
		{"session_id='default'", true},
		{"session_id='default' and type='EEG'", true},
		{"session_id='default' and (type='Markers')", false},
		{`name="cueroom-EEG"`, true},
		{"name='cueroom-eeg'", false},
		{"type='Markers' or name='cueroom-EEG'", true},
		{"not(type='EEG')", false},
		{"type!='EEG'", false},
		{"starts-with(name,'cueroom')", true},
		{"contains(name, 'EE')", true},
		{"channel_count=6", true},
		{"channel_count>=6 and nominal_srate>100", true},
		{"channel_count<6", false},
		{"desc/manufacturer='cueroom'", true},
		{"desc/channels/channel/label='C4'", true},
		{"desc/channels/channel/label='Cz'", false},
		{"count(desc/channels/channel)=2", true},
		{"string-length(name)=11", true},
		{"/info/type='EEG'", true},
		{"*/manufacturer='cueroom'", true},
		{"true()", true},
		{"false() or (name='x')", false},
		{"nosuchfield", false},
		{"nosuchfield=''", false},
	} {
		q, err := CompileQuery(tc.q)
		if err != nil {
			t.Errorf("%q: %v", tc.q, err)
			continue
		}
		if got := q.Matches(&si); got != tc.want {
			t.Errorf("%q matches %v, want %v", tc.q, got, tc.want)
		}
	}
}

func TestQueryRejects(t *testing.T) {
	deep := ""
	for range maxQueryDepth + 2 {
		deep += "("
	}
	for _, q := range []string{"name='x", "name=", "(name='x'", "name='x')", "foo(1)", "name !x",
		"not()", "starts-with('a')", "a//b", "@attr='x'", deep + "1"} {
		if _, err := CompileQuery(q); err == nil {
			t.Errorf("%q compiled", q)
		}
	}
}

func TestParseSelector(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Neuroscan", "name='Neuroscan'"},
		{"type=EEG", "type='EEG'"},
		{"source_id=abc=d", "source_id='abc=d'"},
		{"name=it's", `name="it's"`},
		{"My EEG (left)", "name='My EEG (left)'"},
		{"type='EEG' and channel_count>=32", "type='EEG' and channel_count>=32"},
	} {
		got, err := ParseSelector(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseSelector(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "  ", "type='EEG", `x'y"z`} {
		if got, err := ParseSelector(bad); err == nil {
			t.Errorf("ParseSelector(%q) = %q", bad, got)
		}
	}
}
