package archive

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cueroom/cueroom/hub/link"
	"github.com/cueroom/cueroom/hub/wire"
)

// Client is a connection to a hub for `cueroom archive`: like a station,
// it joins the hub as a leaf node (a small embedded server without
// JetStream), so the hub has one URL and one kind of listener.
type Client struct {
	NC  *nats.Conn
	srv *server.Server
}

// Dial joins the hub at hubURL (with the credentials file creds, "" for a
// hub on loopback without credentials) and returns when the hub's archive
// answers, or with an error that says why not (not reachable, refused
// credentials) when ctx ends first.
func Dial(ctx context.Context, hubURL, creds string) (*Client, error) {
	var c *wire.Creds
	if creds != "" {
		cr, err := wire.ReadCreds(creds)
		if err != nil {
			return nil, err
		}
		c = &cr
	}
	remote, shown, err := link.LeafRemote(hubURL, c)
	if err != nil {
		return nil, err
	}
	opts := &server.Options{ServerName: "cueroom-archive-" + wire.Token(nats.NewInbox()[7:]), DontListen: true,
		NoSigs: true, MaxPayload: 8 << 20}
	opts.LeafNode.Remotes = []*server.RemoteLeafOpts{remote}
	opts.LeafNode.ReconnectInterval = time.Second
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, err
	}
	lg := &link.LeafLog{}
	srv.SetLoggerV2(lg, false, false, false)
	srv.Start()
	cl := &Client{srv: srv}
	if !srv.ReadyForConnections(10 * time.Second) {
		cl.Close()
		return nil, errors.New("archive: the embedded NATS server did not start")
	}
	copts := []nats.Option{nats.InProcessServer(srv), nats.Name("cueroom archive"), nats.NoCallbacksAfterClientClose()}
	if c != nil {
		copts = append(copts, nats.CustomInboxPrefix(wire.ReaderInbox(c.User)))
	}
	nc, err := nats.Connect("", copts...)
	if err != nil {
		cl.Close()
		return nil, err
	}
	cl.NC = nc
	js, err := jetstream.NewWithDomain(nc, wire.HubDomain)
	if err != nil {
		cl.Close()
		return nil, err
	}
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		if why := lg.Problem(); why != "" {
			cl.Close()
			return nil, fmt.Errorf("the hub %s refused the connection (%s): %s", shown, credsName(creds), why)
		}
		if srv.NumLeafNodes() > 0 {
			rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			_, err := Buckets(rctx, js)
			cancel()
			if err == nil {
				return cl, nil
			}
			if !errors.Is(err, nats.ErrNoResponders) && !errors.Is(err, jetstream.ErrNoStreamResponse) && !errors.Is(err, context.DeadlineExceeded) {
				cl.Close()
				return nil, fmt.Errorf("the hub %s: its archive: %w", shown, err)
			}
		}
		select {
		case <-ctx.Done():
			cl.Close()
			return nil, fmt.Errorf("hub %s not reachable: %w", shown, ctx.Err())
		case <-t.C:
		}
	}
}

func credsName(p string) string {
	if p == "" {
		return "no --creds given"
	}
	return "--creds " + p
}

// Close leaves the hub.
func (c *Client) Close() {
	if c.NC != nil {
		c.NC.Close()
	}
	c.srv.Shutdown()
	c.srv.WaitForShutdown()
}
