// Package lsl speaks the Lab Streaming Layer protocol (liblsl 1.16's wire
// format, protocol 1.10) in pure Go: outlets that offer cueroom's streams
// to any LSL program (LabRecorder, pylsl, liblsl), a resolver that finds
// streams on the network, and inlets that record them.
//
//	o, _ := lsl.NewOutlet(lsl.StreamInfo{Name: "cueroom-markers", Type: "Markers",
//		ChannelCount: 1, Format: lsl.String, Rate: lsl.IrregularRate, SourceID: "cueroom/markers"})
//	o.PushStrings(clock.LSL(ev.T), "cue_onset spider-1")
//
//	pred, _ := lsl.ParseSelector("type=EEG")
//	infos, _ := lsl.Resolve(ctx, pred, 1)
//	in, _ := lsl.NewInlet(ctx, infos[0])
//	for in.Next(&s) == nil { c, _ := in.Correction(); t := clock.Session(s.T + c.Offset); ... }
//
// # Clock
//
// LSL times are seconds on the machine's monotonic clock (LocalClock; the
// same clock liblsl's local_clock reads). cueroom's session clock maps onto
// it by an offset fixed at session start (SessionClock): a marker for an
// event at session time T is pushed at Origin + T, so an LSL recording
// holds it at the instant it happened; a sample an inlet receives is put
// on the session clock as Session(T + correction).
//
// # Wire facts used
//
// Discovery (UDP). A resolver sends, to port 16571 of each discovery
// address (127.0.0.1, 255.255.255.255, the multicast groups 224.0.0.1,
// 224.0.0.183 and 239.255.172.215; multicast once per interface, TTL 24),
// every half second:
//
//	LSL:shortinfo\r\n<XPath query>\r\n<return port> <query id>\r\n
//
// The query is an XPath 1.0 predicate evaluated on the stream's <info>
// element, e.g. "session_id='default' and type='EEG'". Every outlet listens
// on 16571 (address reuse, so many processes share it) joined to the
// groups; if the query matches it answers to the sender's address at the
// return port with "<query id>\r\n" followed by its short description. The
// resolver takes the stream's address from the answer's source.
//
// The description is an XML document, <info> with, in this order: name,
// type, channel_count, channel_format (float32, double64, string, int32,
// int16, int8, int64), source_id, nominal_srate (0: irregular), version
// (1.1), created_at, uid, session_id, hostname, v4address, v4data_port,
// v4service_port, v6address, v6data_port, v6service_port, desc. Numbers
// are written with 16 significant digits and a decimal point
// ("500.0000000000000"). The short form has an empty desc; the full form
// (fullinfo) carries it, by convention desc/channels/channel with label,
// unit and type per channel.
//
// Each outlet also has a UDP service port (first free of 16572..16603,
// else any) that answers shortinfo queries and time probes:
//
//	LSL:timedata\r\n<wave id> <t0>\r\n   →   " <wave id> <t0> <t1> <t2>"
//
// t0 is the prober's send time, t1 and t2 the outlet's receive and reply
// times (LocalClock, 16 significant digits). Of a wave of 8 probes 64 ms
// apart (every 2 s), the one with the shortest round trip (t3-t0)-(t2-t1)
// gives the clock offset ((t1-t0)+(t2-t3))/2; the time correction to add
// to the outlet's timestamps is its negative.
//
// Data (TCP). The outlet's data port (first free of 16572..16603) takes a
// request line and answers:
//
//	LSL:fullinfo\r\n                  → the full description, then close
//	LSL:shortinfo\r\n<query>\r\n      → the short one if it matches
//	LSL:streamfeed/110 <uid>\r\n<headers>\r\n
//
// Feed request headers (case-insensitive, ";" starts a comment):
// Native-Byte-Order (1234 little, 4321 big endian), Endian-Performance,
// Has-IEEE754-Floats, Supports-Subnormals, Value-Size, Data-Protocol-
// Version, Max-Buffer-Length (samples the outlet may hold for this inlet;
// 0 or absent: header only), Max-Chunk-Length, Hostname, Source-Id,
// Session-Id. The answer:
//
//	LSL/110 200 OK\r\nUID: <uid>\r\nByte-Order: <1234|4321>\r\n
//	Suppress-Subnormals: <0|1>\r\nData-Protocol-Version: 110\r\n\r\n
//
// or "LSL/110 404 Not found" (another stream's uid) or "LSL/110 505
// Version not supported". The byte order is the client's if it differs
// and the outlet converts faster (it claims Endian-Performance 1e8);
// Suppress-Subnormals tells the client to flush subnormal floats to zero.
// Then come two test-pattern samples, stamped 123456.789, whose channel k
// holds ±(k + offset + base) with offsets 4 then 2 and, per format, base 0
// (float32), 16777217 (double64), 65537 (int32, modulo 2^31-1), 257
// (int16, modulo 32767), 1 (int8, modulo 127), 2147483649 (int64); odd
// channels negative. String streams send "10", "-11", "12", .... Then the
// samples. Each is a tag byte, 1 (timestamp deduced: the previous one plus
// 1/rate) or 2 (an 8-byte double follows), then the values in the
// stream's format and the negotiated byte order; a string value is a byte
// saying how many bytes its length takes (1, 2, 4 or 8), the length, and
// the bytes.
//
// Not spoken: IPv6, protocol 1.00 (a Boost portable archive, used by
// liblsl older than 1.10 or when value sizes differ), lsl_api.cfg files
// (Config holds the same settings), and XPath beyond the subset in
// CompileQuery.
//
// # Tests
//
// Tests that discover run in a private network namespace (package
// lsltest); the package refuses discovery from a test outside one
// (ErrNotIsolated). Interoperability with liblsl 1.16.2 itself is tested
// when scripts/liblsl.sh has built it.
package lsl
