// common.glsl: what every vkseek shader shares. Workgroup size comes from specialisation
// constant 0 (chosen per device in gpu/). Shaders with reductions are built twice: with
// SUBGROUP_ARITH defined (subgroupAdd/Max) and without (shared memory only), so a device
// lacking subgroup arithmetic never sees the capability. Large grids are 2-D;
// flat_group() undoes that.
#extension GL_EXT_control_flow_attributes : enable
#ifdef SUBGROUP_ARITH
#extension GL_KHR_shader_subgroup_basic : enable
#extension GL_KHR_shader_subgroup_arithmetic : enable
#endif

layout(local_size_x_id = 0) in;

#define WG gl_WorkGroupSize.x
#define TID gl_LocalInvocationID.x

uint flat_group() { return gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x; }

shared float red_f[gl_WorkGroupSize.x];

// Sum of v over the workgroup, returned to every invocation. All invocations must call it.
float wg_sum(float v)
{
#ifdef SUBGROUP_ARITH
    v = subgroupAdd(v);
    if (gl_NumSubgroups == 1) return v;
    if (subgroupElect()) red_f[gl_SubgroupID] = v;
    barrier();
    float s = 0.0;
    for (uint i = 0; i < gl_NumSubgroups; i++) s += red_f[i];
    barrier();
    return s;
#else
    red_f[TID] = v;
    barrier();
    for (uint s = WG / 2; s > 0; s >>= 1) {
        if (TID < s) red_f[TID] += red_f[TID + s];
        barrier();
    }
    float r = red_f[0];
    barrier();
    return r;
#endif
}

float wg_max(float v)
{
#ifdef SUBGROUP_ARITH
    v = subgroupMax(v);
    if (gl_NumSubgroups == 1) return v;
    if (subgroupElect()) red_f[gl_SubgroupID] = v;
    barrier();
    float m = red_f[0];
    for (uint i = 1; i < gl_NumSubgroups; i++) m = max(m, red_f[i]);
    barrier();
    return m;
#else
    red_f[TID] = v;
    barrier();
    for (uint s = WG / 2; s > 0; s >>= 1) {
        if (TID < s) red_f[TID] = max(red_f[TID], red_f[TID + s]);
        barrier();
    }
    float r = red_f[0];
    barrier();
    return r;
#endif
}

// 16-bit values packed two to a 32-bit word (element i: word i/2, low half first).
float half_at(uint w, uint i) { return unpackHalf2x16(w >> ((i & 1u) * 16u)).x; }
float bf16_at(uint w, uint i) { return uintBitsToFloat((i & 1u) == 0u ? w << 16 : w & 0xffff0000u); }
