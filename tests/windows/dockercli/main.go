// dockercli asks a credential helper what the Docker CLI asks it, through Docker's own client
// package (github.com/docker/docker-credential-helpers/client): the helper is found by name with
// Go's exec.LookPath, which on Windows tries only the names PATHEXT lists.
//
//	dockercli [NAME=VALUE ...] get SERVER   the credentials as JSON, or "not found"
//	dockercli [NAME=VALUE ...] store SERVER USER SECRET
//	dockercli [NAME=VALUE ...] erase SERVER
//	dockercli [NAME=VALUE ...] list         the server -> username map as JSON
//	dockercli [NAME=VALUE ...] run ARG ...  the helper itself (a tool: doctor, configure, ...),
//	                                        found the same way, with this stdin, stdout, stderr
//
// The NAME=VALUE words set the environment first, as a user's shell would: a process wine starts
// from Linux gets wine's USERPROFILE and no HOME, whatever the Linux side sets.
//
// Exit 0 on success, 3 when the helper answered "credentials not found", 1 on any other error
// (its message on stderr, as Docker would show it); run exits with the helper's exit code.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/docker/docker-credential-helpers/client"
	"github.com/docker/docker-credential-helpers/credentials"
)

const helper = "docker-credential-ecrpy"

func main() {
	words := os.Args[1:]
	for len(words) > 0 && strings.Contains(words[0], "=") {
		pair := strings.SplitN(words[0], "=", 2)
		if err := os.Setenv(pair[0], pair[1]); err != nil {
			fail(err)
		}
		words = words[1:]
	}
	if len(words) == 0 {
		fail(fmt.Errorf("usage: dockercli [NAME=VALUE ...] get|store|erase|list|run ..."))
	}
	program := client.NewShellProgramFunc(helper)
	var err error
	switch action, args := words[0], words[1:]; {
	case action == "run":
		os.Exit(run(args))
	case action == "get" && len(args) == 1:
		var creds *credentials.Credentials
		creds, err = client.Get(program, args[0])
		if credentials.IsErrCredentialsNotFound(err) {
			fmt.Println("not found")
			os.Exit(3)
		}
		if err == nil {
			err = json.NewEncoder(os.Stdout).Encode(creds)
		}
	case action == "store" && len(args) == 3:
		err = client.Store(program, &credentials.Credentials{
			ServerURL: args[0], Username: args[1], Secret: args[2],
		})
	case action == "erase" && len(args) == 1:
		err = client.Erase(program, args[0])
	case action == "list" && len(args) == 0:
		var listed map[string]string
		listed, err = client.List(program)
		if err == nil {
			err = json.NewEncoder(os.Stdout).Encode(listed)
		}
	default:
		err = fmt.Errorf("unknown request %q", words)
	}
	if err != nil {
		fail(err)
	}
}

// run starts the helper as a person at a prompt would, and returns its exit code.
func run(args []string) int {
	cmd := exec.Command(helper, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	if exit, ok := err.(*exec.ExitError); ok {
		return exit.ExitCode()
	}
	if err != nil {
		fail(err)
	}
	return 0
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "dockercli:", err)
	os.Exit(1)
}
