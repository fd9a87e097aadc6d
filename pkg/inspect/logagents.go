package inspect

import (
	"fmt"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// logAgents are matched on container image and name.
var logAgents = []string{"fluent-bit", "fluentbit", "fluentd", "filebeat", "vector", "promtail"}

// dockerJSONParsers recognise configurations that expect docker's JSON log
// lines; CRI runtimes write "time stream flag message" lines instead.
var dockerJSONParsers = []*regexp.Regexp{
	regexp.MustCompile(`(?m)@type\s+json\b`),                      // fluentd parser
	regexp.MustCompile(`(?m)^\s*format\s+json\b`),                 // old fluentd
	regexp.MustCompile(`(?mi)^\s*parser\s+docker\b`),              // fluent-bit
	regexp.MustCompile(`(?mi)^\s*multiline\.parser\s+docker\s*$`), // fluent-bit, docker only
	regexp.MustCompile(`(?m)^\s*-?\s*type:\s*docker\b`),           // filebeat docker input
	regexp.MustCompile(`(?m)json\.(keys_under_root|message_key)`), // filebeat json decoding
	regexp.MustCompile(`(?m)type\s*=\s*"docker_logs"`),            // vector
	regexp.MustCompile(`(?m)^\s*-\s*docker:\s*\{\s*\}`),           // promtail stage
}

func logAgentName(p *corev1.Pod) string {
	for _, c := range p.Spec.Containers {
		subject := strings.ToLower(c.Image + " " + c.Name)
		for _, a := range logAgents {
			if strings.Contains(subject, a) {
				return a
			}
		}
	}
	return ""
}

// logAgentFindings reports log agents, by owner, and whether their
// ConfigMap parses docker's JSON log lines.
func logAgentFindings(f *Facts) []Finding {
	jsonHits, otherHits := hitSet{}, hitSet{}
	for i := range f.pods {
		p := &f.pods[i]
		agent := p.extra().logAgent
		if agent == "" {
			continue
		}
		if cm := f.dockerJSONConfig(p); cm != "" {
			jsonHits.add(f.owner(p), p.node, agent+" (ConfigMap "+cm+")")
		} else {
			otherHits.add(f.owner(p), p.node, agent)
		}
	}
	fs := jsonHits.findings(IDLogAgentDockerJSON, Warning,
		func(d string) string {
			return fmt.Sprintf("log agent %s parses docker JSON logs; after the swap lines are CRI format (time stream flag message)", d)
		},
		"switch the parser to CRI format (fluentd: cri parser or a regexp; fluent-bit: multiline.parser cri; filebeat: container input) before migrating")
	return append(fs, otherHits.findings(IDLogAgent, Info,
		func(d string) string { return fmt.Sprintf("log agent %s found; its parser could not be checked", d) },
		"check that it reads /var/log/pods in CRI format")...)
}

// dockerJSONConfig returns the first ConfigMap the pod mounts whose content
// parses docker JSON logs.
func (f *Facts) dockerJSONConfig(p *podFacts) string {
	for _, name := range p.extra().configMaps {
		if f.dockerJSONConfigMaps[p.namespace+"/"+name] {
			return name
		}
	}
	return ""
}
