// Package all links every built-in plugin into the binary: importing it
// runs each plugin package's registration.
package all
