import NIOCore

/// Bounds how long a connection may take, at the byte level, in front of the HTTP decoder:
/// a request must arrive whole within `requestTimeout` of its first byte (a slowloris client
/// trickling headers can't pin a connection), and an idle keep-alive connection is closed after
/// `idleTimeout`. Any response going out ends the request's clock. The clock itself is the
/// event loop's `ConnectionSweep`: a request stores a deadline and schedules nothing.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private enum State { case idle, reading }

    private let requestTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private var state = State.idle
    private let sweep: ConnectionSweep
    /// When the connection is closed unless a request or an answer moves it; read by `sweep`.
    private(set) var deadline = NIODeadline.distantFuture
    private var channel: (any Channel)?

    init(requestTimeout: TimeAmount, idleTimeout: TimeAmount, sweep: ConnectionSweep) {
        self.requestTimeout = requestTimeout
        self.idleTimeout = idleTimeout
        self.sweep = sweep
    }

    /// The sweep found the deadline passed.
    func expire() {
        sweep.remove(self)
        channel?.close(promise: nil)
        channel = nil
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(idleTimeout, context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(idleTimeout, context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        sweep.remove(self)
        channel = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if state == .idle {
            // The first bytes of a request start its clock; later bytes don't extend it.
            state = .reading
            arm(requestTimeout, context)
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if state == .reading {
            state = .idle
            arm(idleTimeout, context)
        }
        context.write(data, promise: promise)
    }

    private func arm(_ delay: TimeAmount, _ context: ChannelHandlerContext) {
        if channel == nil {
            channel = context.channel
            sweep.add(self)
        }
        deadline = .now() + delay
    }
}
