package export

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
)

// The BIDS export. Physiology recorded while a patient does a behavioural
// task, with no brain imaging or electrophysiology alongside, belongs in the
// beh/ datatype: BIDS puts recordings "with no neural recordings" there,
// using the same _events and _physio files as tasks recorded during imaging.
// So a session becomes
//
//	dataset_description.json, README, participants.tsv
//	stimuli/<cue file path>                      (cue files found with a matching SHA-256)
//	sub-S/ses-E/beh/sub-S_ses-E_task-T_events.tsv + .json
//	sub-S/ses-E/beh/sub-S_ses-E_task-T_recording-<rate>_physio.tsv.gz + .json  (one per sampling rate)
//
// Time zero for onsets and StartTime is the session start. Wall-clock dates
// are left out: they can identify a patient (the CSV and XDF exports keep
// them).

// BIDSVersion is the version of the specification the dataset follows.
const BIDSVersion = "1.9.0"

// bidsWriter carries one BIDS export.
type bidsWriter struct {
	v      *view
	out    string
	o      Options
	res    *Result
	prefix string // sub-S_ses-E_task-T
	beh    string
}

func writeBIDS(v *view, out string, o Options, res *Result) error {
	b := &bidsWriter{v: v, out: out, o: o, res: res,
		prefix: fmt.Sprintf("sub-%s_ses-%s_task-%s", o.Subject, o.Session, o.Task)}
	b.beh = filepath.Join(out, "sub-"+o.Subject, "ses-"+o.Session, "beh")
	if err := v.dst.mkdirAll(b.beh); err != nil {
		return err
	}
	steps := []func() error{b.description, b.readme, b.participants}
	for _, f := range steps {
		if err := f(); err != nil {
			return err
		}
	}
	stim, err := b.copyStimuli()
	if err != nil {
		return err
	}
	if err := b.events(stim); err != nil {
		return err
	}
	return b.physio()
}

// obj is a JSON object that keeps its keys in order, for readable sidecars.
type obj []kv

type kv struct {
	k string
	v any
}

func (o obj) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, p := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(p.k)
		if err != nil {
			return nil, err
		}
		val, err := json.Marshal(p.v)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(val)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// writeNew writes a whole new file and records it.
func (b *bidsWriter) writeNew(path string, data []byte) error {
	if err := writeNewFile(b.v.dst, path, data); err != nil {
		return err
	}
	b.res.Files = append(b.res.Files, path)
	return nil
}

// writeStream writes a new file through fill and records it.
func (b *bidsWriter) writeStream(path string, fill func(w *bufio.Writer) error) error {
	f, err := b.v.dst.create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 64<<10)
	err = fill(bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("export: writing %s: %w", path, err)
	}
	b.res.Files = append(b.res.Files, path)
	return nil
}

func writeNewFile(d dest, path string, data []byte) error {
	f, err := d.create(path)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("export: writing %s: %w", path, err)
	}
	return nil
}

func (b *bidsWriter) writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("export: %s: %w", path, err)
	}
	return b.writeNew(path, append(data, '\n'))
}

func (b *bidsWriter) description() error {
	m := b.v.meta
	name := m.Title
	if name == "" {
		name = "cueroom session"
	}
	return b.writeJSON(filepath.Join(b.out, "dataset_description.json"), obj{
		{"Name", name},
		{"BIDSVersion", BIDSVersion},
		{"DatasetType", "raw"},
		{"GeneratedBy", []obj{{
			{"Name", "cueroom"},
			{"Version", strings.TrimPrefix(m.Software, "cueroom ")},
			{"Description", "cueroom export --format bids: a cue exposure session with its physiology"},
		}}},
	})
}

func (b *bidsWriter) readme() error {
	m := b.v.meta
	var t strings.Builder
	fmt.Fprintf(&t, "%s\n\n", firstNonEmpty(m.Title, "cueroom session"))
	fmt.Fprintf(&t, "A cue exposure therapy session recorded by %s and exported with\n'cueroom export --format bids'. Substance: %s.\n\n",
		firstNonEmpty(m.Software, "cueroom"), firstNonEmpty(m.Substance, "n/a"))
	t.WriteString(`Layout
------
Physiology recorded during a behavioural task with no neural recording is
stored under beh/, as BIDS specifies for behavioural experiments.

- sub-*/ses-*/beh/*_events.tsv: steps, cue presentations (onset to offset,
  with every field of the cue manifest: modality, substance, intensity,
  personalised, file SHA-256...), ratings, markers, commands and alerts.
  The columns are described in the matching _events.json.
- sub-*/ses-*/beh/*_recording-<rate>_physio.tsv.gz: one file per sampling
  rate; the columns, their units and the devices' settings are in the
  matching _physio.json.
- stimuli/: the cue files, copied only when found with the SHA-256 the
  session recorded (personalised cues are left out unless asked for, as they
  may identify the patient); stim_file is n/a for the others, whose path and
  SHA-256 remain in cue_file and sha256.

Timing
------
Time zero is the start of the session; onsets and StartTime are seconds on
the session's monotonic clock. A sample's time is when the device took it:
its counter on the device's clock, mapped onto the session clock (sessions
recorded by versions before that carry arrival times); a visual cue's onset
is the frame that first showed it, after the buffer swap.
Physiological samples are placed on the regular grid StartTime + row /
SamplingFrequency in the order they were recorded (never interpolated):
each sample's time is de-jittered (the least-delayed line through the next
second of samples), and samples that were lost (a dropout, a reconnect)
leave n/a rows so later samples stay on time. Exact per-sample times are in
the XDF and CSV exports.
Wall-clock dates are not included, as they can identify a patient.
`)
	return b.writeNew(filepath.Join(b.out, "README"), []byte(t.String()))
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func (b *bidsWriter) participants() error {
	return b.writeNew(filepath.Join(b.out, "participants.tsv"), []byte("participant_id\nsub-"+b.o.Subject+"\n"))
}

// copyStimuli copies the cue files it can find, with the recorded SHA-256,
// into stimuli/, and returns the manifest paths it copied.
func (b *bidsWriter) copyStimuli() (map[string]bool, error) {
	copied := map[string]bool{}
	seen := map[string]bool{}
	var personal, invalid, notFound []string
	for _, c := range b.v.manifest {
		p := str(c, "file")
		if p == "" || seen[p] {
			continue
		}
		seen[p] = true
		if c["personalised"] == true && !b.o.PersonalStimuli {
			personal = append(personal, p)
			continue
		}
		sum := strings.ToLower(str(c, "sha256"))
		if !fs.ValidPath(p) || p == "." || sum == "" {
			invalid = append(invalid, p)
			continue
		}
		ok, err := b.copyStimulus(p, sum)
		if err != nil {
			return nil, err
		}
		if ok {
			copied[p] = true
		} else {
			notFound = append(notFound, p)
		}
	}
	if len(personal) > 0 {
		b.res.warnf("%d personalised cue file(s) were not copied into stimuli/ (they may identify the patient): %s; their stim_file is n/a",
			len(personal), strings.Join(personal, ", "))
	}
	if len(invalid) > 0 {
		b.res.warnf("%d cue file(s) have no SHA-256 or a path that is not relative to the protocol's folder, so they were not copied: %s",
			len(invalid), strings.Join(invalid, ", "))
	}
	if len(notFound) > 0 {
		b.res.warnf("%d cue file(s) were not found with the SHA-256 the session recorded: %s; their stim_file is n/a (give the folder of the protocol that was run to copy them)",
			len(notFound), strings.Join(notFound, ", "))
	}
	return copied, nil
}

// copyStimulus copies the first file at p in the stimuli folders whose
// SHA-256 is sum. A file with another checksum is a different cue (the
// protocol's media changed since) and is not copied.
func (b *bidsWriter) copyStimulus(p, sum string) (bool, error) {
	for _, fsys := range b.o.Stimuli {
		if fsys == nil {
			continue
		}
		got, err := hashFS(fsys, p)
		if err != nil || got != sum {
			continue
		}
		dst := filepath.Join(b.out, "stimuli", filepath.FromSlash(p))
		if err := b.v.dst.mkdirAll(filepath.Dir(dst)); err != nil {
			return false, err
		}
		if err := copyFS(fsys, p, b.v.dst, dst, sum); err != nil {
			return false, err
		}
		b.res.Files = append(b.res.Files, dst)
		return true, nil
	}
	return false, nil
}

func hashFS(fsys fs.FS, p string) (string, error) {
	f, err := fsys.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return "", errors.New("not a regular file")
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// copyFS copies and checks the checksum again, in case the file changed
// between the two reads.
func copyFS(fsys fs.FS, p string, d dest, dst, sum string) error {
	in, err := fsys.Open(p)
	if err != nil {
		return fmt.Errorf("export: reading stimulus %s: %w", p, err)
	}
	defer in.Close()
	out, err := d.create(dst)
	if err != nil {
		return err
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(out, h), in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil && hex.EncodeToString(h.Sum(nil)) != sum {
		err = errors.New("it changed while being copied")
	}
	if err != nil {
		return fmt.Errorf("export: copying stimulus %s: %w", p, err)
	}
	return nil
}
