/*
 * softtarget: what a row of the cross-entropy is trained toward and what
 * it weighs, its label or the soft target that stands for it (a
 * teacher's, lib/model/layers.h). One definition for the CPU's layer
 * (lib/model/layers.c) and the GPU's kernels (lib/model/cuda/layers.cu),
 * which must agree to the bit.
 */
#ifndef TP_SOFTTARGET_H
#define TP_SOFTTARGET_H

#include <stddef.h>
#include <stdint.h>

#ifdef __CUDACC__
#define TP_HOST_DEVICE __host__ __device__
#else
#define TP_HOST_DEVICE
#endif

/* The probability of class 1 that row b is trained toward. */
static inline TP_HOST_DEVICE float
tp_soft_target(const int8_t *label, const float *target, long b)
{
	return target ? target[b] : (float)label[b];
}

/* Row b's weight in the loss: its class's, the mean of the two that its
 * target expects when it has no label, 0 when it has neither. */
static inline TP_HOST_DEVICE float
tp_soft_weight(const int8_t *label, const float *target,
    const float *weight, long b)
{
	if (label[b] >= 0)
		return weight ? weight[label[b]] : 1.0f;
	if (target == NULL)
		return 0;
	return weight ? target[b] * weight[1] + (1 - target[b]) * weight[0] :
	    1.0f;
}

#endif
