/* janus_names.h: where a Janus(-Pro) tensor lives in the community checkpoints. vkseek asks
 * for tensors by their official MultiModalityCausalLM names (deepseek-ai pytorch_model.bin);
 * deepseek-community/Janus-Pro-* hold the same numbers under the names transformers'
 * convert_janus_weights_to_hf.py gave them. Names only: no file is opened here. */
#ifndef VKSEEK_JANUS_NAMES_H
#define VKSEEK_JANUS_NAMES_H

#define JANUS_NAME_MAX 256

/* What the conversion did besides renaming, so a loader can undo it:
 *  - vision_model.vision_tower.blocks.N.attn.qkv.{weight,bias} ([3D, D] and [3D]) was cut
 *    along dimension 0 into thirds, in the order q, k, v (timm's qkv row layout), as
 *    model.vision_model.encoder.layers.N.self_attn.{q,k,v}_proj.*: concatenating the rows of
 *    the three names in order gives the official tensor back.
 *  - vision_model.vision_tower.pos_embed [1, N, D] became position_embedding.weight [N, D]
 *    (squeeze(0)): same bytes, without the leading size-1 dimension.
 *  - Nothing is transposed or permuted: linear weights stay [out, in], conv weights stay
 *    [out, in, kh, kw], embeddings stay [rows, dim]. The VQ levels keep their index: official
 *    decoder.conv_blocks.0 (lowest resolution, the one with attn) is community decoder.up.0,
 *    because transformers builds `up` from the lowest resolution too.
 *  - Dropped: vision_model.vision_tower.attn_pool.* (SigLIP's pooling head, unused by Janus)
 *    and gen_vision_model.quantize.codebook_used (a training statistic). The VQ encoder and
 *    quant_conv are kept (model.vqmodel.encoder.down.N..., model.vqmodel.quant_conv). */

/* For a tensor's official Janus name, the community (HF) name(s) holding it: one name for a
 * rename, or several whose rows are concatenated in order along dimension 0 (the fused qkv).
 * Returns the number of names written into out (0 if the official name has no community
 * counterpart, e.g. dropped tensors), or -1 if out is too small (fewer than the names needed,
 * or a name longer than JANUS_NAME_MAX - 1 bytes). */
int janus_community_names(const char *official, char out[][JANUS_NAME_MAX], int max);

/* 1 if the conversion deliberately dropped this official tensor (see above), else 0. An
 * official name that neither maps nor is dropped is not a Janus tensor vkseek knows. */
int janus_name_dropped(const char *official);

/* 1 if the community tensor is the official one without its leading size-1 dimension (only
 * the vision pos_embed), else 0. */
int janus_community_squeezed(const char *official);

#endif
