// Package nodeexec is crimig's hands on a node's host.
//
// It owns the privileged pod that crimig pins to a node (a pure builder plus
// small mutators, in the style of kubectl debug), the namespace that pod
// lives in, creating and watching it until it runs, running host scripts in
// it through nsenter, streaming files to the host, starting jobs that must
// outlive the pod and the container runtime under it, reading their journal
// back, and deleting every pod it made.
//
// A crimig pod dies with the runtime it runs on. Anything that stops that
// runtime must therefore run as a detached job (StartDetached), and every
// exec reads its exit code from a trailer line so that a broken stream is
// told apart from a failing script (ErrStreamBroken).
package nodeexec
