"""Jupyter Server tuning for nbferry: TCP_NODELAY on kernel websockets.

A stock jupyter_server never sets TCP_NODELAY on the kernel websocket, so every small reply
waits for Nagle's algorithm and the client's delayed ACK: about 45 ms per round trip. Select
this connection class to switch Nagle off for kernel websockets only:

    PYTHONPATH=<this directory> jupyter server \
        --ServerApp.kernel_websocket_connection_class=nbferry_server_tuning.NoDelayKernelWebsocketConnection

or, in jupyter_server_config.py:

    c.ServerApp.kernel_websocket_connection_class = "nbferry_server_tuning.NoDelayKernelWebsocketConnection"
"""

from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection


class NoDelayKernelWebsocketConnection(ZMQChannelsWebsocketConnection):
    """The stock ZMQ-channels connection, with TCP_NODELAY on its websocket."""

    def connect(self):  # type: ignore[no-untyped-def]
        self.websocket_handler.set_nodelay(True)
        return super().connect()
