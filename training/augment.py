"""CCTV-like augmentation, all in TensorFlow graph ops so tf.data runs it in parallel.

Real cameras give small, soft, compressed, oddly lit faces; the augmentation makes sharp
web photos look like that: low resolution (down then up), blur, JPEG artefacts, colour and
brightness shifts, small rotations, box jitter and flips.
"""

from __future__ import annotations

import math

import tensorflow as tf


def _random_lowres(image: tf.Tensor, size: int) -> tf.Tensor:
    small = tf.random.uniform([], 12, size, dtype=tf.int32)
    down = tf.image.resize(image, [small, small], method="area")
    return tf.image.resize(down, [size, size], method="bilinear")


def _gaussian_blur(image: tf.Tensor) -> tf.Tensor:
    sigma = tf.random.uniform([], 0.5, 1.6)
    x = tf.range(-3, 4, dtype=tf.float32)
    k = tf.exp(-(x**2) / (2.0 * sigma**2))
    k = k / tf.reduce_sum(k)
    kx = tf.tile(tf.reshape(k, [1, 7, 1, 1]), [1, 1, 3, 1])
    ky = tf.tile(tf.reshape(k, [7, 1, 1, 1]), [1, 1, 3, 1])
    batched = image[None]
    batched = tf.nn.depthwise_conv2d(batched, kx, [1, 1, 1, 1], "SAME")
    batched = tf.nn.depthwise_conv2d(batched, ky, [1, 1, 1, 1], "SAME")
    return batched[0]


def _jitter_and_rotate(image: tf.Tensor, size: int) -> tf.Tensor:
    """Random scale/shift (detector box noise) and rotation in one projective transform."""
    angle = tf.random.uniform([], -12.0, 12.0) * math.pi / 180.0
    scale = tf.random.uniform([], 0.9, 1.12)
    shift = tf.random.uniform([2], -0.06, 0.06) * size
    c = (size - 1) / 2.0
    cos, sin = tf.cos(angle) / scale, tf.sin(angle) / scale
    # Output pixel (x, y) samples input at A @ (x - c, y - c) + c + shift.
    tx = c - cos * c + sin * c + shift[0]
    ty = c - sin * c - cos * c + shift[1]
    transform = tf.stack([cos, -sin, tx, sin, cos, ty, 0.0, 0.0])[None]
    out = tf.raw_ops.ImageProjectiveTransformV3(
        images=image[None],
        transforms=transform,
        output_shape=[size, size],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="REFLECT",
    )
    return out[0]


def augment(image: tf.Tensor, size: int) -> tf.Tensor:
    """One random CCTV-like variant of a float32 RGB crop in [0, 255]."""
    image = tf.image.random_flip_left_right(image)
    image = _jitter_and_rotate(image, size)
    image = tf.cond(tf.random.uniform([]) < 0.5, lambda: _random_lowres(image, size), lambda: image)
    image = tf.cond(tf.random.uniform([]) < 0.25, lambda: _gaussian_blur(image), lambda: image)
    image = tf.clip_by_value(image, 0.0, 255.0) / 255.0
    image = tf.image.random_brightness(image, 0.25)
    image = tf.image.random_contrast(image, 0.7, 1.3)
    image = tf.image.random_saturation(image, 0.6, 1.4)
    image = tf.image.random_hue(image, 0.04)
    image = tf.clip_by_value(image, 0.0, 1.0)
    image = tf.cond(
        tf.random.uniform([]) < 0.5,
        lambda: tf.image.random_jpeg_quality(image, 25, 90),
        lambda: image,
    )
    image = tf.cond(
        tf.random.uniform([]) < 0.1, lambda: tf.image.grayscale_to_rgb(tf.image.rgb_to_grayscale(image)), lambda: image
    )
    image.set_shape([size, size, 3])
    return image * 255.0
