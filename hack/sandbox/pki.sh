# shellcheck shell=bash
# Certificates for the sandbox, made with openssl: one CA signs the API
# server's serving cert, the API server's client cert for kubelets (kwok) and
# kwok's serving cert; a separate key pair signs service-account tokens.
# ECDSA P-256 keys keep generation instant.

# make_pki DIR writes ca, apiserver, kubelet-client, kwok and sa files to DIR.
make_pki() {
  local dir=$1
  mkdir -p "${dir}"
  chmod 700 "${dir}"
  new_key "${dir}/ca.key"
  openssl req -x509 -new -key "${dir}/ca.key" -out "${dir}/ca.crt" -days 3650 \
    -subj "/CN=crimig-sandbox-ca" 2>/dev/null
  sign_cert "${dir}" apiserver "/CN=kube-apiserver" serverAuth \
    "DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:127.0.0.1,IP:10.96.0.1"
  sign_cert "${dir}" kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth ""
  sign_cert "${dir}" kwok "/CN=kwok" serverAuth "DNS:localhost,IP:127.0.0.1"
  new_key "${dir}/sa.key"
  openssl ec -in "${dir}/sa.key" -pubout -out "${dir}/sa.pub" 2>/dev/null
  log "certificates written to ${dir}"
}

new_key() {
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
  chmod 600 "$1"
}

# sign_cert DIR NAME SUBJECT USAGE SANS makes DIR/NAME.{key,crt} signed by the CA.
sign_cert() {
  local dir=$1 name=$2 subject=$3 usage=$4 sans=$5 ext
  ext="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=${usage}"
  [[ -n "${sans}" ]] && ext+=$'\n'"subjectAltName=${sans}"
  new_key "${dir}/${name}.key"
  openssl req -new -key "${dir}/${name}.key" -subj "${subject}" 2>/dev/null |
    openssl x509 -req -CA "${dir}/ca.crt" -CAkey "${dir}/ca.key" -CAcreateserial \
      -days 3650 -out "${dir}/${name}.crt" -extfile <(printf '%s\n' "${ext}") 2>/dev/null
}
