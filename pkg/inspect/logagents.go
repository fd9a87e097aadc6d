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

// logAgentFindings checks each log agent's mounted ConfigMaps for a docker
// JSON parser.
func logAgentFindings(f *ClusterFacts, idx ownerIndex) []Finding {
	cms := map[string]*corev1.ConfigMap{}
	for i := range f.ConfigMaps {
		cms[f.ConfigMaps[i].Namespace+"/"+f.ConfigMaps[i].Name] = &f.ConfigMaps[i]
	}
	jsonHits, otherHits := hitSet{}, hitSet{}
	for i := range f.Pods {
		p := &f.Pods[i]
		agent := logAgentName(p)
		if agent == "" {
			continue
		}
		if cm := dockerJSONConfig(p, cms); cm != "" {
			jsonHits.add(idx.Owner(p), p.Spec.NodeName, agent+" (ConfigMap "+cm+")")
		} else {
			otherHits.add(idx.Owner(p), p.Spec.NodeName, agent)
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

func dockerJSONConfig(p *corev1.Pod, cms map[string]*corev1.ConfigMap) string {
	for _, v := range p.Spec.Volumes {
		if v.ConfigMap == nil {
			continue
		}
		cm := cms[p.Namespace+"/"+v.ConfigMap.Name]
		if cm == nil {
			continue
		}
		for _, content := range cm.Data {
			for _, re := range dockerJSONParsers {
				if re.MatchString(content) {
					return cm.Name
				}
			}
		}
	}
	return ""
}
