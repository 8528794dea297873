// Command vcsim runs VMware's vSphere API simulator (govmomi's simulator.VPX(): one datacenter DC0, a cluster DC0_C0
// of three hosts, a standalone host DC0_H0, four VMs, datastore LocalDS_0) on 127.0.0.1 for the vSphere driver
// tests. Debian ships the simulator library but no vcsim binary; this is the smallest launcher of it.
//
// It prints "VCSIM_URL=<url>" once it listens and runs until its standard input closes or it gets a signal, so a
// test that dies does not leave it behind.
//
//	-port N         port on 127.0.0.1 (0: any free port)
//	-tls            serve https with a self-signed certificate (prints VCSIM_CERT_SHA256=<hex> too)
//	-login user:pw  the only credentials it accepts (default: any non-empty user and password)
//	-delay a=ms,... slow the named SOAP methods (e.g. CloneVM_Task=2000), as a slow vCenter would be
package main

import (
	"bufio"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/vmware/govmomi/simulator"
)

func main() {
	port := flag.Int("port", 0, "port on 127.0.0.1")
	useTLS := flag.Bool("tls", false, "serve https")
	delay := flag.String("delay", "", "method=milliseconds,... delays")
	login := flag.String("login", "", "user:password it accepts")
	flag.Parse()

	model := simulator.VPX()
	defer model.Remove()
	if err := model.Create(); err != nil {
		log.Fatal(err)
	}
	model.Service.Listen = &url.URL{Host: "127.0.0.1:" + strconv.Itoa(*port)}
	if user := strings.SplitN(*login, ":", 2); len(user) == 2 {
		model.Service.Listen.User = url.UserPassword(user[0], user[1])
	}
	if *useTLS {
		model.Service.TLS = new(tls.Config)
	}
	if *delay != "" {
		model.DelayConfig.MethodDelay = map[string]int{}
		for _, item := range strings.Split(*delay, ",") {
			parts := strings.SplitN(item, "=", 2)
			ms, err := strconv.Atoi(strings.TrimSpace(parts[len(parts)-1]))
			if len(parts) != 2 || err != nil {
				log.Fatalf("bad -delay item %q: want Method=milliseconds", item)
			}
			model.DelayConfig.MethodDelay[strings.TrimSpace(parts[0])] = ms
		}
	}

	server := model.Service.NewServer()
	defer server.Close()

	u := *server.URL
	u.User = nil
	fmt.Printf("VCSIM_URL=%s\n", u.String())
	if *useTLS {
		sum := sha256.Sum256(server.TLS.Certificates[0].Certificate[0])
		fmt.Printf("VCSIM_CERT_SHA256=%s\n", hex.EncodeToString(sum[:]))
	}
	os.Stdout.Sync()

	done := make(chan struct{})
	go func() {
		reader := bufio.NewReader(os.Stdin)
		for {
			if _, err := reader.ReadByte(); err != nil {
				close(done)
				return
			}
		}
	}()
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	select {
	case <-done:
	case <-signals:
	}
}
