package inspect

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
)

// PodListStream opens GET /api/v1/pods in protobuf, unpaginated: one
// request the API server answers from its watch cache, as it does for
// `kubectl get --raw /api/v1/pods`, and encodes item by item.
func PodListStream(c kubernetes.Interface) func(ctx context.Context) (io.ReadCloser, error) {
	return func(ctx context.Context) (io.ReadCloser, error) {
		return c.CoreV1().RESTClient().Get().Resource("pods").
			SetHeader("Accept", runtime.ContentTypeProtobuf).Stream(ctx)
	}
}

// protobufMagic starts every Kubernetes protobuf message (runtime.Unknown).
var protobufMagic = []byte{'k', '8', 's', 0}

// errNotProtobuf: the answer was no protobuf list (a proxy that rewrote it).
var errNotProtobuf = errors.New("the pod list is not in protobuf")

// eachStreamedPod decodes a protobuf PodList from r one pod at a time and
// hands each to fn, so that only one pod is decoded in memory at once. The
// wire format is runtime.Unknown{typeMeta: 1, raw: 2, …} whose raw is a
// PodList{metadata: 1, items: 2 (repeated)}.
func eachStreamedPod(r io.Reader, fn func(*corev1.Pod)) error {
	br := bufio.NewReaderSize(r, 256<<10)
	magic := make([]byte, len(protobufMagic))
	if _, err := io.ReadFull(br, magic); err != nil || !bytes.Equal(magic, protobufMagic) {
		return errNotProtobuf
	}
	// The envelope: skip typeMeta, find raw.
	listLen := int64(-1)
	for listLen < 0 {
		field, size, err := readField(br)
		if err != nil {
			return fmt.Errorf("reading the pod list envelope: %w", err)
		}
		if field == 2 {
			listLen = size
			break
		}
		if _, err := br.Discard(int(size)); err != nil {
			return fmt.Errorf("reading the pod list envelope: %w", err)
		}
	}
	list := &countingReader{r: br, left: listLen}
	var buf []byte
	for list.left > 0 {
		field, size, err := readField(list)
		if err != nil {
			return fmt.Errorf("reading the pod list: %w", err)
		}
		if field != 2 {
			if _, err := io.CopyN(io.Discard, list, size); err != nil {
				return fmt.Errorf("reading the pod list: %w", err)
			}
			continue
		}
		if int64(cap(buf)) < size {
			buf = make([]byte, size)
		}
		buf = buf[:size]
		if _, err := io.ReadFull(list, buf); err != nil {
			return fmt.Errorf("reading the pod list: %w", err)
		}
		var p corev1.Pod
		// Unmarshal copies what it keeps: buf is reused for the next pod.
		if err := p.Unmarshal(buf); err != nil {
			return fmt.Errorf("decoding a pod: %w", err)
		}
		fn(&p)
	}
	return nil
}

// readField reads the key of a length-delimited protobuf field and its
// length; other wire types do not occur at the levels read here.
func readField(r io.ByteReader) (field int, size int64, err error) {
	key, err := binary.ReadUvarint(r)
	if err != nil {
		return 0, 0, err
	}
	if key&7 != 2 {
		return 0, 0, fmt.Errorf("unexpected protobuf wire type %d", key&7)
	}
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return 0, 0, err
	}
	if n > 1<<31 {
		return 0, 0, fmt.Errorf("protobuf field of %d bytes", n)
	}
	return int(key >> 3), int64(n), nil
}

// countingReader reads at most left bytes from r.
type countingReader struct {
	r    *bufio.Reader
	left int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

func (c *countingReader) ReadByte() (byte, error) {
	if c.left <= 0 {
		return 0, io.EOF
	}
	b, err := c.r.ReadByte()
	if err == nil {
		c.left--
	}
	return b, err
}
