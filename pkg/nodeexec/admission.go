package nodeexec

import (
	"errors"
	"fmt"
	"regexp"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// AdmissionError says that the API server refused to create a node pod and
// which admission step refused it.
type AdmissionError struct {
	Namespace string
	// Admission names who said no: "PodSecurity (baseline:latest)",
	// `admission webhook "validate.kyverno.svc"`, "RBAC", ...
	Admission string
	// Message is what the admission step said.
	Message string
	// Hint says what to do next.
	Hint string
	Err  error
}

func (e *AdmissionError) Error() string {
	return fmt.Sprintf("%s refused crimig's node pod in namespace %q: %s; %s", e.Admission, e.Namespace, e.Message, e.Hint)
}

func (e *AdmissionError) Unwrap() error { return e.Err }

var (
	podSecurityRE = regexp.MustCompile(`violates PodSecurity "([^"]+)": (.*)`)
	webhookRE     = regexp.MustCompile(`admission webhook "([^"]+)" denied the request:?\s*(.*)`)
	policyRE      = regexp.MustCompile(`ValidatingAdmissionPolicy '([^']+)'(?: with binding '([^']+)')? denied request:?\s*(.*)`)
	rbacRE        = regexp.MustCompile(`User "([^"]*)" cannot create resource "pods"`)
)

// mapAdmissionError turns a pod-create rejection into an *AdmissionError that
// names the admission step; other errors are returned unchanged.
func mapAdmissionError(err error, ns string) error {
	var status apierrors.APIStatus
	if err == nil || !errors.As(err, &status) {
		return err
	}
	msg := status.Status().Message
	ae := &AdmissionError{Namespace: ns, Err: err, Message: msg}
	switch {
	case podSecurityRE.MatchString(msg):
		m := podSecurityRE.FindStringSubmatch(msg)
		ae.Admission, ae.Message = fmt.Sprintf("PodSecurity (%s)", m[1]), m[2]
		ae.Hint = fmt.Sprintf("run \"kubectl label ns %s %s=privileged --overwrite\", or leave out --pod-namespace to use %s",
			ns, LabelPodSecurityEnforce, DefaultNamespace)
	case webhookRE.MatchString(msg):
		m := webhookRE.FindStringSubmatch(msg)
		ae.Admission, ae.Message = fmt.Sprintf("admission webhook %q", m[1]), m[2]
		ae.Hint = policyHint(ns)
	case policyRE.MatchString(msg):
		m := policyRE.FindStringSubmatch(msg)
		ae.Admission, ae.Message = fmt.Sprintf("ValidatingAdmissionPolicy %q", m[1]), m[3]
		if m[2] != "" {
			ae.Admission += fmt.Sprintf(" (binding %q)", m[2])
		}
		ae.Hint = policyHint(ns)
	case rbacRE.MatchString(msg):
		ae.Admission = "RBAC"
		ae.Hint = fmt.Sprintf("crimig needs create, get, list, watch and delete on pods and create on pods/exec in namespace %q; "+
			"ask a cluster admin for them", ns)
	case apierrors.IsForbidden(err):
		ae.Admission = "an admission controller"
		ae.Hint = policyHint(ns)
	default:
		return err
	}
	return ae
}

func policyHint(ns string) string {
	return fmt.Sprintf("crimig needs a privileged pod with hostPID, hostNetwork and hostIPC on each node; ask for a policy "+
		"exception for pods labelled %s=%s in namespace %q, or pick an exempt namespace with --pod-namespace",
		LabelManagedBy, ManagedBy, ns)
}
