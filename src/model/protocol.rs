//! What Istio makes of a Service port: the protocol from `appProtocol` or the port name's
//! prefix (istio/istio `pkg/config/protocol/instance.go` `Parse` and
//! `pkg/config/kube/conversion.go` `ConvertProtocol`), and whether its connections outlive a
//! request.

/// Istio's protocol names (`protocol.Instance`), plus WebSocket, which Istio carries as HTTP
/// but which keeps one connection open for the whole session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Grpc,
    GrpcWeb,
    Http,
    HttpProxy,
    Http2,
    Https,
    Tcp,
    Tls,
    Udp,
    Mongo,
    Redis,
    MySql,
    WebSocket,
    /// No recognised name: Istio sniffs the protocol.
    Unknown,
}

impl Protocol {
    /// `protocol.Parse`: case-insensitive, whole string.
    fn parse(name: &str) -> Protocol {
        match name.to_ascii_lowercase().as_str() {
            "tcp" => Protocol::Tcp,
            "udp" => Protocol::Udp,
            "grpc" => Protocol::Grpc,
            "grpc-web" => Protocol::GrpcWeb,
            "http" => Protocol::Http,
            "http_proxy" => Protocol::HttpProxy,
            "http2" => Protocol::Http2,
            "https" => Protocol::Https,
            "tls" => Protocol::Tls,
            "mongo" => Protocol::Mongo,
            "redis" => Protocol::Redis,
            "mysql" => Protocol::MySql,
            _ => Protocol::Unknown,
        }
    }

    /// The protocol of a Service port. `appProtocol` wins over the name; the Kubernetes
    /// standard names `kubernetes.io/h2c`, `kubernetes.io/ws`, `kubernetes.io/wss` are
    /// recognised there; otherwise the whole value, then the part before the first `-`.
    pub fn of_port(
        name: Option<&str>,
        transport: Option<&str>,
        app_protocol: Option<&str>,
    ) -> Protocol {
        if transport == Some("UDP") {
            return Protocol::Udp;
        }
        let text = match app_protocol {
            Some("kubernetes.io/h2c") => return Protocol::Http2,
            Some("kubernetes.io/ws") | Some("kubernetes.io/wss") => return Protocol::WebSocket,
            Some(a) => a,
            None => name.unwrap_or_default(),
        };
        match Protocol::parse(text) {
            Protocol::Unknown => Protocol::parse(text.split('-').next().unwrap_or_default()),
            p => p,
        }
    }

    /// Protocols whose connections (or streams) stay open across many requests, so a proxy
    /// restart cuts them instead of letting them finish: HTTP/2 and gRPC streams, WebSockets,
    /// and opaque TCP. `https` ports are proxied as TLS too, but by convention they carry
    /// HTTP/1.1 requests (webhooks, APIs) that clients retry on a new connection, so they
    /// are left out to keep the finding about connections that really live long.
    pub fn is_long_lived(self) -> bool {
        matches!(
            self,
            Protocol::Grpc
                | Protocol::GrpcWeb
                | Protocol::Http2
                | Protocol::WebSocket
                | Protocol::Tcp
                | Protocol::Tls
                | Protocol::Mongo
                | Protocol::Redis
                | Protocol::MySql
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Grpc => "gRPC",
            Protocol::GrpcWeb => "gRPC-Web",
            Protocol::Http => "HTTP",
            Protocol::HttpProxy => "HTTP_PROXY",
            Protocol::Http2 => "HTTP/2",
            Protocol::Https => "HTTPS (TLS, opaque to the proxy)",
            Protocol::Tcp => "TCP",
            Protocol::Tls => "TLS",
            Protocol::Udp => "UDP",
            Protocol::Mongo => "MongoDB",
            Protocol::Redis => "Redis",
            Protocol::MySql => "MySQL",
            Protocol::WebSocket => "WebSocket",
            Protocol::Unknown => "an undeclared protocol",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Protocol::{self, *};

    fn p(name: &str) -> Protocol {
        Protocol::of_port(Some(name), None, None)
    }

    #[test]
    fn port_names_and_app_protocols() {
        assert_eq!(p("grpc"), Grpc);
        assert_eq!(p("grpc-api"), Grpc);
        assert_eq!(p("GRPC-Web"), GrpcWeb);
        assert_eq!(p("grpc-web-ui"), Grpc);
        assert_eq!(p("http2-internal"), Http2);
        assert_eq!(p("tcp-db"), Tcp);
        assert_eq!(p("mongo"), Mongo);
        assert_eq!(p("http-web"), Http);
        assert_eq!(p("web"), Unknown);
        assert_eq!(p("grpcapi"), Unknown);
        assert_eq!(Protocol::of_port(Some("http"), None, Some("grpc")), Grpc);
        assert_eq!(Protocol::of_port(Some("grpc"), None, Some("http")), Http);
        assert_eq!(
            Protocol::of_port(Some("web"), None, Some("kubernetes.io/h2c")),
            Http2
        );
        assert_eq!(
            Protocol::of_port(None, None, Some("kubernetes.io/ws")),
            WebSocket
        );
        assert_eq!(Protocol::of_port(Some("tcp-dns"), Some("UDP"), None), Udp);
        assert!(Grpc.is_long_lived() && Tcp.is_long_lived() && WebSocket.is_long_lived());
        assert!(!Http.is_long_lived() && !Unknown.is_long_lived() && !Udp.is_long_lived());
        assert!(!Https.is_long_lived() && Tls.is_long_lived());
    }
}
