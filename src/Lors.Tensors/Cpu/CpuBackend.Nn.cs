// Neural-network kernels on the CPU. (Being written: softmax, RMSNorm, RoPE, SwiGLU, embedding, cross-entropy,
// attention, AdamW, masked merge.)
namespace Lors.Tensors.Cpu;

public sealed unsafe partial class CpuBackend
{
    public void Softmax(Tensor x, Tensor y, bool log) => throw new NotImplementedException();
    public void SoftmaxBackward(Tensor y, Tensor gy, Tensor gx, bool log) => throw new NotImplementedException();
    public void RmsNorm(Tensor x, Tensor w, float eps, Tensor y, Tensor rstd) => throw new NotImplementedException();
    public void RmsNormBackward(Tensor x, Tensor w, Tensor rstd, Tensor gy, Tensor gx, Tensor gw) => throw new NotImplementedException();
    public void Rope(Tensor x, Tensor cos, Tensor sin, Tensor y, bool inverse) => throw new NotImplementedException();
    public void SwiGlu(Tensor gate, Tensor up, Tensor y) => throw new NotImplementedException();
    public void SwiGluBackward(Tensor gate, Tensor up, Tensor gy, Tensor gGate, Tensor gUp) => throw new NotImplementedException();
    public void Embedding(Tensor ids, Tensor table, Tensor y) => throw new NotImplementedException();
    public void EmbeddingBackward(Tensor ids, Tensor gy, Tensor gTable) => throw new NotImplementedException();
    public void CrossEntropy(Tensor logits, Tensor targets, int ignoreIndex, Tensor losses, Tensor lse) => throw new NotImplementedException();
    public void CrossEntropyBackward(Tensor logits, Tensor targets, Tensor lse, int ignoreIndex, float scale, Tensor gLogits) => throw new NotImplementedException();
    public void Attention(Tensor q, Tensor k, Tensor v, float scale, Tensor output, Tensor lse) => throw new NotImplementedException();
    public void AttentionBackward(Tensor q, Tensor k, Tensor v, Tensor output, Tensor lse, Tensor gOut, float scale, Tensor gq, Tensor gk, Tensor gv) => throw new NotImplementedException();
    public void AdamW(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWArgs args) => throw new NotImplementedException();
    public void MaskedMerge(Tensor w, Tensor delta, float s, Tensor y) => throw new NotImplementedException();
}
