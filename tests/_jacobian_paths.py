"""What the explicit-Jacobian references share (tests/test_gpr_reference.py for encoders,
tests/_decoder_reference.py for decoders): per step ``s`` they hold ``J_emb[s]`` (the
embedding's Jacobian), ``dqdx[s]`` (∂q/∂x), the directions ``d = x − b`` and the rule's
``weights``; these push tangents, pull cotangents and integrate gᵢ from them."""

import torch


class JacobianPaths:
    def tangent0(self, s, i):
        return torch.einsum("khe,e->kh", self.J_emb[s][:, :, i, :], self.d[i])

    @staticmethod
    def push(J, t):
        return torch.einsum("khjg,jg->kh", J, t)

    @staticmethod
    def pull(J, g):
        return torch.einsum("kh,khjg->jg", g, J)

    def g(self, i):
        return sum(self.weights[s] * float(self.dqdx[s][i] @ self.d[i]) for s in range(self.S))
