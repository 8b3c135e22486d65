learning_rate = 0.01
n_iters = 100
for epoch in range(n_iters):
    # prediction = forward pass
    y_pred =forward(X)

    # loss
    l = loss(Y, y_pred)

    # gradients = backward pass
    l.backward() # dl/dw gradient of loss respect to w
    
    
    #update weights. Weights calculation should not be part of computational graph
    with torch.no_grad():
        w -= learning_rate * w.grad

    # zero gradients. 
    # Empty or convert to zero the gradients
    # to avoid acumulate w in w.grad every time l.backward() is calculated
    w.grad.zero_()
    
    if epoch % 10 ==0:
        print(f'epoch {epoch+1}: w = {w:.3f}, loss = {l:.8f} ')

print(f"prediction after training: f(5){forward(5):.3f}")
