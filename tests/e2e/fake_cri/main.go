// Command fake-cri serves the kubelet's in-tree fake container runtime (pkg/kubelet/cri/remote/fake)
// on a unix socket and records, for every PullImage, the image and the credentials the kubelet
// sent, one JSON line each: the e2e test compares them with the token the fake ECR issued. The
// password is recorded as its SHA-256 only, so no credential lands in the record file.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"log"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"google.golang.org/grpc"
	kubeapi "k8s.io/cri-api/pkg/apis/runtime/v1alpha2"
	"k8s.io/kubernetes/pkg/kubelet/cri/remote/fake"
)

// pull is one PullImage as the runtime saw it.
type pull struct {
	Image          string `json:"image"`
	Username       string `json:"username"`
	PasswordSHA256 string `json:"password_sha256"`
}

// recorder is the fake runtime with PullImage recorded before it is served.
type recorder struct {
	*fake.RemoteRuntime
	mu  sync.Mutex
	out *os.File
}

func (r *recorder) PullImage(ctx context.Context, req *kubeapi.PullImageRequest) (*kubeapi.PullImageResponse, error) {
	p := pull{Image: req.GetImage().GetImage()}
	if auth := req.GetAuth(); auth != nil {
		p.Username = auth.GetUsername()
		if auth.GetPassword() != "" {
			sum := sha256.Sum256([]byte(auth.GetPassword()))
			p.PasswordSHA256 = hex.EncodeToString(sum[:])
		}
	}
	line, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	_, err = r.out.Write(append(line, '\n'))
	r.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return r.RemoteRuntime.PullImage(ctx, req)
}

func main() {
	socket := flag.String("socket", "", "unix socket path to serve the CRI on")
	record := flag.String("record", "", "file to append one JSON line per PullImage to")
	flag.Parse()
	if *socket == "" || *record == "" {
		log.Fatal("usage: fake-cri -socket PATH -record FILE")
	}
	out, err := os.OpenFile(*record, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		log.Fatal(err)
	}
	rt := fake.NewFakeRemoteRuntime()
	rt.ImageService.SetFakeImageSize(1 << 20) // the kubelet refuses an image of size 0 once pulled
	rt.RuntimeService.FakeStatus = &kubeapi.RuntimeStatus{
		Conditions: []*kubeapi.RuntimeCondition{
			{Type: kubeapi.RuntimeReady, Status: true},
			{Type: kubeapi.NetworkReady, Status: true},
		},
	}
	r := &recorder{RemoteRuntime: rt, out: out}
	server := grpc.NewServer()
	kubeapi.RegisterRuntimeServiceServer(server, r)
	kubeapi.RegisterImageServiceServer(server, r)
	_ = os.Remove(*socket)
	listener, err := net.Listen("unix", *socket)
	if err != nil {
		log.Fatal(err)
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		server.Stop()
	}()
	if err := server.Serve(listener); err != nil {
		log.Fatal(err)
	}
}
